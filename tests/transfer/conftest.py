"""Fixtures of the import and export tests: a second, empty database, and a project with
something of everything an export holds."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from convoscope.api import event_in, feedback_in, to_conversation_in
from convoscope.indexing import upgrade
from convoscope.schemas import (
    InsertConversationEvent,
    InsertMessageEvent,
    InsertSearchEvent,
    LogFeedbackRequestBody,
    create_conversation_adapter,
)
from convoscope.store import Scope, make_engine
from convoscope.store import annotations as annotation_store
from convoscope.store.conversations import upsert_conversation
from convoscope.store.events import insert_event
from convoscope.store.feedback import upsert_feedback
from tests.builders import openai_conversation, support_conversation
from tests.conftest import _TEMPLATE, ProjectKeys, make_project
from tests.pgcluster import create_database_from_template, drop_database

_counter = itertools.count()


@pytest.fixture
def other_database_url(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A second fresh database on the same engine, to import into."""
    if dialect == "sqlite":
        yield f"sqlite:///{tmp_path / 'other.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    name = f"transfer_{next(_counter)}"
    url = create_database_from_template(server, name, _TEMPLATE)
    yield url
    drop_database(server, name)


@pytest.fixture
def other_engine(other_database_url: str) -> Iterator[Engine]:
    engine = make_engine(other_database_url, pool_size=2)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def other_project(other_engine: Engine) -> ProjectKeys:
    """A project of the same name in the second database (its ids differ)."""
    return make_project(other_engine, "acme")


def log(engine: Engine, scope: Scope, body: dict[str, Any]) -> None:
    with engine.begin() as conn:
        upsert_conversation(
            conn, scope, to_conversation_in(create_conversation_adapter.validate_python(body))
        )


def seed(engine: Engine, scope: Scope) -> None:
    """Conversations of each type and shape, feedback, events of each kind, and threads
    annotated, verified and failed."""
    log(
        engine,
        scope,
        {
            "id": "conv_a",
            "type": "openai",
            "externalId": "ext-a",
            "externalUrl": "https://example.com/a",
            "visibility": "private",
            "tags": ["beta", "docs"],
            "properties": {"plan": "pro", "seats": 3, "nested": {"x": [1, 2.5, None]}},
            "userProperties": {"id": "u_1", "company": "Acme", "identificationType": "email"},
            "createdAt": "2025-03-01T09:30:00.123456Z",
            "messages": [
                {"id": "a0", "role": "system", "content": "You answer about Acme."},
                {
                    "id": "a1",
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is on this screen?"},
                        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                    ],
                    "userProperties": {"id": "u_1"},
                    "createdAt": "2025-03-01T09:30:01Z",
                },
                {
                    "id": "a2",
                    "role": "assistant",
                    "content": "The billing page.",
                    "links": [{"url": "https://docs/billing", "title": "Billing"}],
                    "properties": {"model": "gpt-4o-mini", "usage": {"total": 12}},
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": '{"q": "bill"}'},
                        }
                    ],
                },
                {"id": "a3", "role": "user", "content": "And refunds? ünïcödé ✓"},
                {"id": "a4", "role": "assistant", "content": "Refunds take 5 days."},
            ],
        },
    )
    log(engine, scope, support_conversation("conv_b", supportTicketConversationId="T-9"))
    log(engine, scope, openai_conversation("conv_c", turns=3, integrationId="int_elsewhere"))
    with engine.begin() as conn:
        c_answer = (
            upsert_conversation(
                conn,
                scope,
                to_conversation_in(
                    create_conversation_adapter.validate_python(openai_conversation("conv_d"))
                ),
            )
            .messages[1]
            .id
        )
        upsert_feedback(
            conn,
            scope,
            feedback_in(
                LogFeedbackRequestBody.model_validate(
                    {
                        "id": "fb_1",
                        "type": "positive",
                        "messageId": "a2",
                        "reasons": [{"label": "accurate", "details": "spot on"}],
                        "details": "thanks",
                        "sources": [
                            {"type": "positive", "title": "Billing", "url": "https://docs/billing"}
                        ],
                        "userProperties": {"id": "u_1"},
                    }
                )
            ),
        )
        upsert_feedback(
            conn,
            scope,
            feedback_in(
                LogFeedbackRequestBody.model_validate({"type": "negative", "messageId": c_answer})
            ),
        )
        for event in (
            InsertMessageEvent.model_validate(
                {"entityType": "message", "type": "message:copied", "messageId": "a4"}
            ),
            InsertConversationEvent.model_validate(
                {
                    "entityType": "conversation",
                    "type": "shared",
                    "conversationId": "conv_b",
                    "properties": {"via": "link"},
                }
            ),
            InsertConversationEvent.model_validate(
                {"entityType": "conversation", "type": "opened", "conversationId": "conv_never"}
            ),
            InsertSearchEvent.model_validate(
                {
                    "entityType": "search",
                    "type": "search",
                    "searchQuery": "refund policy",
                    "userProperties": {"id": "u_2"},
                }
            ),
        ):
            insert_event(conn, scope, event_in(event))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        claimed = annotation_store.claim_threads(
            conn, scope.project_id, limit=3, now=now, lease=timedelta(minutes=5)
        )
        assert len(claimed) == 3
        annotation_store.save_annotation(
            conn,
            claimed[0],
            {
                "category": "billing",
                "is_documented": False,
                "languages": ["en"],
                "sentiment": "negative",
                "first_party_entities": ["Acme"],
            },
            source="offline:1",
        )
        annotation_store.record_failure(
            conn, claimed[1], "analyzer crashed", max_attempts=1, backoff=timedelta(seconds=1)
        )
        annotation_store.verify_fields(
            conn, scope.project_id, claimed[0].id, {"subject": "refunds"}
        )
