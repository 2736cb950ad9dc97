"""U+0000 is refused wherever a request carries text, with the field named, on both
engines: PostgreSQL cannot store it, and its error would have been a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_errors import assert_problem

NUL = "\u0000"

BODIES = [
    pytest.param(
        "/conversations",
        {"type": "openai", "messages": [{"role": "user", "content": f"a{NUL}b"}]},
        "messages[0].content",
        id="message-text",
    ),
    pytest.param(
        "/conversations",
        {
            "id": "c1",
            "type": "openai",
            "properties": {"nested": [1, {"k": f"v{NUL}"}]},
            "messages": [{"role": "user", "content": "hi"}],
        },
        "properties.nested[1].k",
        id="json-value",
    ),
    pytest.param(
        "/conversations",
        {
            "type": "openai",
            "userProperties": {f"ke{NUL}y": 1},
            "messages": [{"role": "user", "content": "hi"}],
        },
        "userProperties.key",
        id="json-key",
    ),
    pytest.param(
        "/conversations",
        {"id": f"c{NUL}", "type": "openai", "messages": [{"role": "user", "content": "x"}]},
        "id",
        id="id",
    ),
    pytest.param(
        "/events",
        {"entityType": "search", "type": "search", "searchQuery": f"q{NUL}"},
        "searchQuery",
        id="event",
    ),
    pytest.param(
        "/feedback",
        {"type": "positive", "messageId": "m1", "details": f"d{NUL}"},
        "details",
        id="feedback",
    ),
    pytest.param(
        "/query/conversations",
        {"where": {"condition": {"field": "id", "operator": "eq", "value": f"a{NUL}"}}},
        "where.condition.value",
        id="query-value",
    ),
]


@pytest.mark.parametrize(("path", "body", "field"), BODIES)
async def test_a_nul_in_a_body_is_refused_naming_the_field(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(await client.post(path, json=body), 400)
    assert problem["field"] == field
    assert "U+0000" in problem["detail"]


async def test_a_nul_in_the_path_or_the_query_string_is_refused(
    client: httpx.AsyncClient,
) -> None:
    assert assert_problem(await client.get("/conversations/a%00b"), 400)["field"] == "path"
    answer = await client.get("/conversations", params={"limit": f"1{NUL}"})
    assert assert_problem(answer, 400)["field"] == "limit"


async def test_the_escaped_text_backslash_u0000_is_ordinary_text(
    client: httpx.AsyncClient,
) -> None:
    text = "\\u0000 is how JSON spells NUL"
    body = {"id": "c-escaped", "type": "openai", "messages": [{"role": "user", "content": text}]}
    assert (await client.post("/conversations", json=body)).status_code == 200
    stored = (await client.get("/conversations/c-escaped")).json()
    assert stored["messages"][0]["content"] == text
