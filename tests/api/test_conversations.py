"""The conversations API stores and returns exactly what the Inkeep wire contract says."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.builders import openai_conversation, support_conversation
from tests.conftest import ProjectKeys

T0 = "2025-03-01T09:30:00.000Z"
T1 = "2025-03-01T09:31:00.000Z"


async def log(client: httpx.AsyncClient, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else None
    response = await client.post("/conversations", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


async def test_openai_conversation_round_trips_every_field(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    body = {
        "id": "conv_7f3a",
        "type": "openai",
        "externalId": "ticket-991",
        "externalUrl": "https://support.example.com/991",
        "createdAt": T0,
        "updatedAt": T0,
        "properties": {"page": "/docs/install", "plan": "pro"},
        "userProperties": {"id": "anon-55", "identificationType": "COOKIED", "team": {"a": 1}},
        "tags": ["beta"],
        "visibility": "public",
        "messages": [
            {"id": "msg_a1", "role": "system", "content": "Be brief.", "createdAt": T0},
            {
                "id": "msg_a2",
                "role": "user",
                "name": "ada",
                "createdAt": T0,
                "content": [
                    {"type": "text", "text": "What is on this screenshot?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/s.png"}},
                ],
            },
            {
                "id": "msg_a3",
                "role": "assistant",
                "content": "",
                "createdAt": T1,
                "updatedAt": T1,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup_error", "arguments": '{"code":"E42"}'},
                    }
                ],
                "links": [{"url": "https://example.com/docs/keys", "title": "API keys"}],
                "properties": {"model": "gpt-4o"},
            },
        ],
    }
    stored = await log(client, body)
    assert stored == {
        "id": "conv_7f3a",
        "externalId": "ticket-991",
        "externalUrl": "https://support.example.com/991",
        "type": "openai",
        "supportTicketConversationId": None,
        "createdAt": T0,
        "updatedAt": T0,
        "projectId": project.scope.project_id,
        "integrationId": project.scope.integration_id,
        "properties": {"page": "/docs/install", "plan": "pro"},
        "userProperties": {"id": "anon-55", "identificationType": "COOKIED", "team": {"a": 1}},
        "tags": ["beta"],
        "visibility": "public",
        "messages": [
            {
                "id": "msg_a1",
                "type": "openai",
                "externalId": None,
                "externalUrl": None,
                "conversationId": "conv_7f3a",
                "createdAt": T0,
                "updatedAt": stored["messages"][0]["updatedAt"],
                "role": "system",
                "content": "Be brief.",
            },
            {
                "id": "msg_a2",
                "type": "openai",
                "externalId": None,
                "externalUrl": None,
                "conversationId": "conv_7f3a",
                "createdAt": T0,
                "updatedAt": stored["messages"][1]["updatedAt"],
                "role": "user",
                "name": "ada",
                "content": [
                    {"type": "text", "text": "What is on this screenshot?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/s.png", "detail": "auto"},
                    },
                ],
            },
            {
                "id": "msg_a3",
                "type": "openai",
                "externalId": None,
                "externalUrl": None,
                "conversationId": "conv_7f3a",
                "createdAt": T1,
                "updatedAt": T1,
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup_error", "arguments": '{"code":"E42"}'},
                    }
                ],
                "links": [{"url": "https://example.com/docs/keys", "title": "API keys"}],
                "properties": {"model": "gpt-4o"},
            },
        ],
        "messagesOpenAIFormat": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "name": "ada",
                "content": [
                    {"type": "text", "text": "What is on this screenshot?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/s.png", "detail": "auto"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup_error", "arguments": '{"code":"E42"}'},
                    }
                ],
            },
        ],
    }
    fetched = await client.get("/conversations/conv_7f3a")
    assert fetched.status_code == 200
    assert fetched.json() == stored


@pytest.mark.parametrize("kind", ["support_ticket", "support_copilot"])
async def test_support_conversations_keep_null_content_and_free_roles(
    client: httpx.AsyncClient, kind: str
) -> None:
    stored = await log(client, support_conversation("t-1", kind=kind, externalId="zd-4411"))
    assert stored["type"] == kind
    assert "messagesOpenAIFormat" not in stored
    assert [(m["type"], m["role"], m["content"]) for m in stored["messages"]] == [
        (kind, "customer", "My export fails"),
        (kind, "agent", None),
    ]


async def test_missing_ids_and_timestamps_are_generated(client: httpx.AsyncClient) -> None:
    stored = await log(client, openai_conversation())
    assert stored["id"].startswith("conv_")
    assert all(m["id"].startswith("msg_") for m in stored["messages"])
    assert stored["createdAt"].endswith("Z") and len(stored["createdAt"]) == 24


async def test_upsert_replaces_messages_and_keeps_ids_by_position(
    client: httpx.AsyncClient,
) -> None:
    first = await log(client, openai_conversation("c1", createdAt=T0))
    body = openai_conversation("c1", turns=2)
    second = await log(client, body)
    assert second["createdAt"] == T0, "an update keeps the stored createdAt"
    assert [m["id"] for m in second["messages"][:2]] == [m["id"] for m in first["messages"]]
    assert [m["content"] for m in second["messages"]] == [
        "question 0",
        "answer 0",
        "question 1",
        "answer 1",
    ]
    shorter = await log(client, openai_conversation("c1", turns=1))
    assert len(shorter["messages"]) == 2
    assert (await client.get("/conversations/c1")).json() == shorter


KEPT_FIELDS: dict[str, Any] = {
    "properties": {"plan": "pro"},
    "userProperties": {"id": "u1"},
    "tags": ["beta"],
    "externalId": "ticket-1",
    "externalUrl": "https://support.example.com/1",
    "visibility": "public",
    "supportTicketConversationId": "st-1",
}


async def test_an_upsert_that_omits_a_top_level_field_keeps_its_stored_value(
    client: httpx.AsyncClient,
) -> None:
    await log(client, openai_conversation("c1", **KEPT_FIELDS))
    second = await log(client, openai_conversation("c1", turns=2))
    assert {name: second[name] for name in KEPT_FIELDS} == KEPT_FIELDS
    assert (await client.get("/conversations/c1")).json() == second
    assert len(second["messages"]) == 4


async def test_an_explicit_null_clears_a_stored_top_level_field(
    client: httpx.AsyncClient,
) -> None:
    await log(client, openai_conversation("c1", **KEPT_FIELDS))
    cleared = {name: None for name in KEPT_FIELDS}
    second = await log(client, openai_conversation("c1", turns=2, **cleared))
    assert {name: second[name] for name in KEPT_FIELDS} == cleared
    assert (await client.get("/conversations/c1")).json() == second
    changed = await log(client, openai_conversation("c1", properties={"plan": "team"}))
    assert changed["properties"] == {"plan": "team"}
    assert changed["userProperties"] is None


async def test_changing_a_conversations_type_is_refused(client: httpx.AsyncClient) -> None:
    await log(client, openai_conversation("c1"))
    response = await client.post("/conversations", json=support_conversation("c1"))
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == "type"
    assert problem["detail"] == (
        "conversation 'c1' is of type 'openai'; its type cannot change to 'support_ticket'"
    )


async def test_list_pages_newest_first_with_totals(client: httpx.AsyncClient) -> None:
    for day in range(1, 6):
        await log(client, openai_conversation(f"c{day}", createdAt=f"2025-03-0{day}T00:00:00Z"))
    page = (await client.get("/conversations", params={"limit": 2, "offset": 1})).json()
    assert [c["id"] for c in page["conversations"]] == ["c4", "c3"]
    assert (page["total"], page["pageSize"], page["count"]) == (5, 2, 2)
    default = (await client.get("/conversations")).json()
    assert (default["total"], default["pageSize"], default["count"]) == (5, 20, 5)


async def test_get_by_external_id_returns_the_most_recently_updated(
    client: httpx.AsyncClient,
) -> None:
    await log(client, openai_conversation("old", externalId="ext/1", updatedAt=T0))
    await log(client, openai_conversation("new", externalId="ext/1", updatedAt=T1))
    response = await client.get("/conversations/external/ext%2F1")
    assert response.status_code == 200
    assert response.json()["id"] == "new"


@pytest.mark.parametrize(
    "conversation_id",
    [
        pytest.param("a/b c", id="slash-and-space"),
        pytest.param("external/x", id="looks-like-the-external-route"),
        pytest.param("日本語-💬", id="unicode"),
        pytest.param("x" * 512, id="512-characters"),
    ],
)
async def test_ids_that_need_encoding_route_correctly(
    client: httpx.AsyncClient, conversation_id: str
) -> None:
    from urllib.parse import quote

    await log(client, openai_conversation(conversation_id))
    path = "/conversations/" + quote(conversation_id, safe="")
    fetched = await client.get(path)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["id"] == conversation_id
    deleted = await client.delete(path)
    assert deleted.json() == {"success": True, "message": "Conversation deleted successfully"}
    assert (await client.get(path)).status_code == 404


async def test_delete_answers_200_then_404(client: httpx.AsyncClient) -> None:
    await log(client, openai_conversation("c1"))
    response = await client.delete("/conversations/c1")
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Conversation deleted successfully"}
    again = await client.delete("/conversations/c1")
    assert again.status_code == 404
    assert again.json()["code"] == "not_found"


async def test_message_ids_are_unique_within_a_project(client: httpx.AsyncClient) -> None:
    body = openai_conversation("c1")
    body["messages"][0]["id"] = "m-shared"
    await log(client, body)
    other = openai_conversation("c2")
    other["messages"][0]["id"] = "m-shared"
    response = await client.post("/conversations", json=other)
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "message id 'm-shared' already belongs to conversation 'c1'; "
        "message ids are unique within a project"
    )


async def test_ten_thousand_small_messages_fit_in_one_request(
    client: httpx.AsyncClient,
) -> None:
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}"} for i in range(10_000)
    ]
    stored = await log(client, {"id": "big", "type": "openai", "messages": messages})
    assert len(stored["messages"]) == 10_000
    fetched = (await client.get("/conversations/big")).json()
    assert [m["content"] for m in fetched["messages"]] == [f"m{i}" for i in range(10_000)]
