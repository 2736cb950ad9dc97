"""Events of the three entity types are stored as sent, even before their conversation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from convoscope.store.tables import events
from tests.api.test_errors import assert_problem
from tests.builders import openai_conversation
from tests.conftest import ProjectKeys

T0 = "2025-03-01T09:32:00.000Z"


@pytest.mark.parametrize(
    ("target", "entity_type", "name"),
    [
        ({"messageId": "msg_a2"}, "message", "message:copied"),
        ({"conversationId": "conv_1"}, "conversation", "chat_shared"),
        ({"searchQuery": "rotate key"}, "search", "search"),
    ],
)
async def test_each_entity_type_round_trips(
    client: httpx.AsyncClient,
    project: ProjectKeys,
    target: dict[str, str],
    entity_type: str,
    name: str,
) -> None:
    body: dict[str, Any] = {
        "id": f"evt-{entity_type}",
        "entityType": entity_type,
        "type": name,
        "createdAt": T0,
        "properties": {"source": "button", "n": 3},
        "userProperties": {"id": 7},
        **target,
    }
    response = await client.post("/events", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": f"evt-{entity_type}",
        "type": name,
        **target,
        "createdAt": T0,
        "projectId": project.scope.project_id,
        "integrationId": project.scope.integration_id,
        "properties": {"source": "button", "n": 3},
        "userProperties": {"id": 7},
        "entityType": entity_type,
    }


async def test_an_event_before_its_conversation_is_kept_and_linked_later(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    early = await client.post(
        "/events", json={"entityType": "message", "type": "copied", "messageId": "m-late"}
    )
    assert early.status_code == 200
    body = openai_conversation("c-late")
    body["messages"][1]["id"] = "m-late"
    await client.post("/conversations", json=body)
    with engine.connect() as conn:
        linked = conn.execute(select(events.c.conversation_id)).scalars().all()
    assert linked == ["c-late"]


async def test_a_retried_event_id_stays_one_event(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    for _ in range(3):
        await client.post(
            "/events",
            json={"id": "e1", "entityType": "search", "type": "search", "searchQuery": "q"},
        )
    with engine.connect() as conn:
        assert conn.execute(select(events.c.id)).scalars().all() == ["e1"]


async def test_deleting_a_conversation_deletes_its_events(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    body = openai_conversation("c1")
    body["messages"][0]["id"] = "q1"
    await client.post("/conversations", json=body)
    await client.post(
        "/events", json={"entityType": "message", "type": "copied", "messageId": "q1"}
    )
    await client.post(
        "/events", json={"entityType": "conversation", "type": "shared", "conversationId": "c1"}
    )
    await client.post(
        "/events", json={"entityType": "search", "type": "search", "searchQuery": "q"}
    )
    await client.delete("/conversations/c1")
    with engine.connect() as conn:
        assert conn.execute(select(events.c.entity_type)).scalars().all() == ["search"]


async def test_a_web_key_may_log_events(
    app_client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    response = await app_client.post(
        "/events",
        json={"entityType": "search", "type": "search", "searchQuery": "q"},
        headers={"Authorization": f"Bearer {project.web_key}"},
    )
    assert response.status_code == 200
    assert response.json()["integrationId"] != project.scope.integration_id


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"type": "x", "messageId": "m"}, "entityType", "is required"),
        (
            {"entityType": "page", "type": "x"},
            "entityType",
            "must be one of 'message', 'conversation', 'search'; got 'page'",
        ),
        ({"entityType": "message", "type": "x"}, "messageId", "is required"),
        ({"entityType": "search", "type": "search"}, "searchQuery", "is required"),
        ({"entityType": "conversation", "conversationId": "c"}, "type", "is required"),
        (
            {"entityType": "search", "type": "", "searchQuery": "q"},
            "type",
            "String should have at least 1 character",
        ),
        # Once answered without a field: "integrationId" was taken for pydantic's "int".
        (
            {"entityType": "search", "type": "x", "searchQuery": "q", "integrationId": "i" * 65},
            "integrationId",
            "String should have at most 64 characters",
        ),
    ],
)
async def test_bad_event_bodies_name_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str, message: str
) -> None:
    problem = assert_problem(await client.post("/events", json=body), 400)
    assert problem["errors"][0] == {"field": field, "message": message}


async def test_an_event_body_over_two_megabytes_is_refused(client: httpx.AsyncClient) -> None:
    body = {"entityType": "search", "type": "search", "searchQuery": "q" * (2 << 20)}
    assert_problem(await client.post("/events", json=body), 413)
