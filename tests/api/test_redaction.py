"""With redaction on, no write path stores what it redacts: conversations (text and
content parts, properties, user properties), feedback (details, reasons) and events
(properties, search queries) all hold placeholders from their first write; with it off,
everything is stored as sent."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Engine, select, text

from convoscope.redaction import DEFAULT_KINDS, Kind
from convoscope.store.privacy import PrivacySettings, RedactionSettings, save_privacy
from convoscope.store.tables import conversations, events, feedback, messages, semantic_threads
from tests.conftest import ProjectKeys

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"


def turn_on(engine: Engine, project: ProjectKeys, **fields: Any) -> None:
    with engine.begin() as conn:
        save_privacy(
            conn,
            project.scope.project_id,
            PrivacySettings(redaction=RedactionSettings(kinds=DEFAULT_KINDS, **fields)),
        )


def stored_text(engine: Engine) -> str:
    """Every stored row of the data tables, as one string to search."""
    with engine.connect() as conn:
        rows = [
            str(tuple(row))
            for table in (conversations, messages, feedback, events, semantic_threads)
            for row in conn.execute(select(table))
        ]
    return "\n".join(rows)


async def log_everything(client: httpx.AsyncClient) -> None:
    conversation = {
        "id": "c1",
        "type": "openai",
        "properties": {"plan": "pro", "contact": EMAIL},
        "userProperties": {"id": "u1", "email": EMAIL},
        "messages": [
            {"role": "user", "content": f"my card is {CARD}, mail {EMAIL}"},
            {
                "id": "m2",
                "role": "assistant",
                "content": [{"type": "text", "text": f"I will write to {EMAIL}"}],
                "properties": {"ip": "203.0.113.7"},
            },
        ],
    }
    assert (await client.post("/conversations", json=conversation)).status_code == 200
    fb = {
        "type": "negative",
        "messageId": "m2",
        "details": f"reach me at {EMAIL}",
        "reasons": [{"label": "other", "details": f"phone +44 20 7946 0958, {EMAIL}"}],
        "userProperties": {"email": EMAIL},
    }
    assert (await client.post("/feedback", json=fb)).status_code == 200
    event = {
        "type": "search",
        "entityType": "search",
        "searchQuery": f"orders of {EMAIL}",
        "properties": {"query": f"refund {CARD}"},
    }
    assert (await client.post("/events", json=event)).status_code == 200


async def test_redaction_is_off_by_default(client: httpx.AsyncClient, engine: Engine) -> None:
    await log_everything(client)
    assert EMAIL in stored_text(engine)


async def test_every_write_path_stores_placeholders_only(
    client: httpx.AsyncClient, engine: Engine, project: ProjectKeys
) -> None:
    turn_on(engine, project, allow_keys=("plan",))
    await log_everything(client)
    stored = stored_text(engine)
    for value in (EMAIL, "4111", "7946", "203.0.113.7"):
        assert value not in stored
    got = (await client.get("/conversations/c1")).json()
    assert got["messages"][0]["content"] == "my card is <CARD>, mail <EMAIL>"
    assert got["messages"][1]["content"] == [{"type": "text", "text": "I will write to <EMAIL>"}]
    assert got["messages"][1]["properties"] == {"ip": "<IP>"}
    assert got["properties"] == {"plan": "pro", "contact": "<EMAIL>"}
    assert got["userProperties"] == {"id": "u1", "email": "<EMAIL>"}
    with engine.connect() as conn:
        thread_question = conn.execute(select(semantic_threads.c.question)).scalar_one()
        fb = conn.execute(select(feedback.c.details, feedback.c.reasons)).one()
        search = conn.execute(select(events.c.search_query, events.c.properties)).one()
    assert thread_question == "my card is <CARD>, mail <EMAIL>"
    assert tuple(fb) == (
        "reach me at <EMAIL>",
        [{"label": "other", "details": "phone <PHONE>, <EMAIL>"}],
    )
    assert tuple(search) == ("orders of <EMAIL>", {"query": "refund <CARD>"})


async def test_hashed_placeholders_keep_users_countable(
    client: httpx.AsyncClient, engine: Engine, project: ProjectKeys
) -> None:
    with engine.begin() as conn:
        save_privacy(
            conn,
            project.scope.project_id,
            PrivacySettings(redaction=RedactionSettings(kinds=frozenset({Kind.EMAIL}), hash=True)),
        )
    for n, spelling in enumerate(["Jane@Example.com", "jane@example.com", "bob@example.com"]):
        body = {
            "id": f"c{n}",
            "type": "openai",
            "userProperties": {"id": spelling},
            "messages": [{"role": "user", "content": "hi"}],
        }
        assert (await client.post("/conversations", json=body)).status_code == 200
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT user_properties FROM conversations ORDER BY id")).all()
    users = [str(row[0]) for row in ids]
    assert users[0] == users[1] != users[2]
    assert "jane" not in "".join(users).lower() and "<EMAIL:" in users[0]
