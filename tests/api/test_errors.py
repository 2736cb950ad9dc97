"""Every bad input gets an exact problem+json answer naming the field, never a 500.

The SDK retries 5xx for up to an hour, so a client mistake answered with a 500 would be
replayed against the server for that long.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.builders import openai_conversation

LEAKED_INTERNALS = ("Traceback", "object at 0x", "<string>", "sqlalchemy", "pydantic")


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The canonical error shape of API.md §1.5."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == body["error"]["code"]
    assert isinstance(body["title"], str) and isinstance(body["detail"], str)
    assert body["error"]["message"] == (
        body["detail"] if len(body["detail"]) <= 100 else body["detail"][:97] + "..."
    )
    assert body["requestId"] == response.headers["x-request-id"]
    assert not any(leak in response.text for leak in LEAKED_INTERNALS), response.text
    return body


def with_message(**message: Any) -> dict[str, Any]:
    return {"type": "openai", "messages": [message]}


BAD_BODIES = [
    pytest.param(
        b"{",
        "body",
        "is not valid JSON (at character 1: Expecting property name enclosed in double quotes)",
        id="malformed-json",
    ),
    pytest.param(b"", "", "is required", id="empty-body"),
    pytest.param(
        b"[]",
        "",
        "Input should be a valid dictionary or object to extract fields from",
        id="array-body",
    ),
    pytest.param({"messages": []}, "type", "is required", id="missing-type"),
    pytest.param(
        {"type": "chat", "messages": []},
        "type",
        "must be one of 'openai', 'support_ticket', 'support_copilot'; got 'chat'",
        id="unknown-type",
    ),
    pytest.param(
        {"type": "openai", "messages": []},
        "messages",
        "List should have at least 1 item after validation, not 0",
        id="no-messages",
    ),
    pytest.param({"type": "openai"}, "messages", "is required", id="missing-messages"),
    pytest.param(
        with_message(role="tool", content="x"),
        "messages[0].role",
        "Input should be 'system', 'user' or 'assistant'",
        id="tool-role",
    ),
    pytest.param(
        with_message(role="user", content=None),
        "messages[0].content",
        "Input should be a valid string or Input should be a valid list",
        id="null-openai-content",
    ),
    pytest.param(
        with_message(role="user", content=[{"type": "audio"}]),
        "messages[0].content[0].type",
        "Input should be 'text' or 'image_url'",
        id="unknown-content-part",
    ),
    pytest.param(
        with_message(
            role="user", content=[{"type": "image_url", "image_url": {"url": "u", "detail": None}}]
        ),
        "messages[0].content[0].image_url.detail",
        "Input should be 'auto', 'low' or 'high'",
        id="null-image-detail",
    ),
    pytest.param(
        with_message(
            role="assistant",
            content="",
            tool_calls=[
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}
            ],
        ),
        "messages[0].tool_calls[0].function.arguments",
        "Input should be a valid string",
        id="tool-arguments-object",
    ),
    pytest.param(
        {**openai_conversation(), "createdAt": "2025-03-01 09:30:00"},
        "createdAt",
        "must be an ISO-8601 date-time with a time zone, such as "
        "2025-03-01T09:30:00.000Z; got '2025-03-01 09:30:00'",
        id="timestamp-no-zone",
    ),
    pytest.param(
        {**openai_conversation(), "createdAt": 1714557600000},
        "createdAt",
        "must be an ISO-8601 date-time string such as 2025-03-01T09:30:00.000Z",
        id="timestamp-number",
    ),
    pytest.param(
        {**openai_conversation(), "createdAt": "2025-02-30T00:00:00Z"},
        "createdAt",
        "is not a valid date-time: '2025-02-30T00:00:00Z'",
        id="impossible-date",
    ),
    pytest.param(
        {**openai_conversation(), "properties": ["a"]},
        "properties",
        "Input should be a valid dictionary",
        id="properties-array",
    ),
    pytest.param(
        {**openai_conversation(), "userProperties": {"id": {"x": 1}}},
        "userProperties.id",
        "Input should be a valid string or Input should be a valid integer",
        id="user-id-object",
    ),
    pytest.param(
        {**openai_conversation(), "visibility": "secret"},
        "visibility",
        "Input should be 'private' or 'public'",
        id="unknown-visibility",
    ),
    pytest.param(
        {**openai_conversation(), "id": ""},
        "id",
        "String should have at least 1 character",
        id="empty-id",
    ),
    pytest.param(
        {**openai_conversation(), "id": "x" * 513},
        "id",
        "String should have at most 512 characters",
        id="id-too-long",
    ),
    pytest.param(
        {"type": "support_ticket", "messages": [{"content": "hi"}]},
        "messages[0].role",
        "is required",
        id="support-missing-role",
    ),
]


@pytest.mark.parametrize(("body", "field", "message"), BAD_BODIES)
async def test_bad_conversation_bodies_name_the_field_at_fault(
    client: httpx.AsyncClient, body: Any, field: str, message: str
) -> None:
    if isinstance(body, bytes):
        response = await client.post(
            "/conversations", content=body, headers={"content-type": "application/json"}
        )
    else:
        response = await client.post("/conversations", json=body)
    problem = assert_problem(response, 400)
    assert problem.get("field", "") == field
    assert problem["errors"][0] == {"field": field, "message": message}


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    body = b'{"type":"openai","messages":[{"role":"user","content":"' + b"a" * (2 << 20) + b'"}]}'
    problem = assert_problem(await client.post("/conversations", content=body), 413)
    assert problem["detail"] == "the request body is larger than the limit of 2097152 bytes"


async def test_a_chunked_body_over_the_limit_is_refused_too(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> Any:
        for _ in range(40):
            yield b"a" * 65536

    response = await client.post("/conversations", content=chunks())
    assert_problem(response, 413)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"limit": 101}, "limit", "Input should be less than or equal to 100"),
        ({"limit": -1}, "limit", "Input should be greater than or equal to 0"),
        (
            {"offset": "x"},
            "offset",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
    ],
)
async def test_out_of_range_paging_gets_400(
    client: httpx.AsyncClient, params: dict[str, Any], field: str, message: str
) -> None:
    problem = assert_problem(await client.get("/conversations", params=params), 400)
    assert problem["errors"] == [{"field": field, "message": message}]


async def test_unknown_routes_and_methods_are_problems_too(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/nope"), 404)
    assert_problem(await client.put("/conversations"), 405)
