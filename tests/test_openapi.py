"""The committed docs/openapi.json is what the server serves: wire changes show in review."""

from __future__ import annotations

from scripts.openapi import DOCUMENT, render_openapi


def test_committed_openapi_document_is_current() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render_openapi(), (
        "the API changed: run `make openapi` and commit docs/openapi.json"
    )


def test_every_operation_has_the_sdk_operation_id() -> None:
    import json

    document = json.loads(render_openapi())
    ids = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {
        "logConversation",
        "getAllConversation",
        "getConversation",
        "deleteConversation",
        "getConversationByExternalId",
    } <= ids
