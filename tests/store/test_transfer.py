"""The import's batched insert stores exactly what the API's upsert stores, row for row,
and refuses what the upsert refuses."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select

from convoscope.api import to_conversation_in
from convoscope.errors import Conflict, InvalidInput
from convoscope.schemas import create_conversation_adapter
from convoscope.store import ConversationIn
from convoscope.store.conversations import upsert_conversation
from convoscope.store.tables import conversations, messages, semantic_threads
from convoscope.store.transfer import insert_conversations
from tests.conftest import ProjectKeys

T = "2025-03-01T09:30:00.123456Z"


def body(conversation_id: str, prefix: str, **fields: Any) -> ConversationIn:
    raw = {
        "id": conversation_id,
        "type": "openai",
        "createdAt": T,
        "updatedAt": T,
        "properties": {"plan": "pro"},
        "userProperties": {"id": "u_1"},
        "messages": [
            {"id": f"{prefix}0", "role": "system", "content": "Be brief.", "createdAt": T},
            {
                "id": f"{prefix}1",
                "role": "user",
                "content": "q?",
                "createdAt": T,
                "updatedAt": T,
                "links": [{"url": "https://x"}],
            },
            {
                "id": f"{prefix}2",
                "role": "assistant",
                "content": [{"type": "text", "text": "a"}],
                "createdAt": T,
                "updatedAt": T,
                "properties": {"model": "m"},
            },
        ],
        **fields,
    }
    for m in raw["messages"][1:]:  # the first follows its conversation's log time
        m.setdefault("updatedAt", T)
    return to_conversation_in(create_conversation_adapter.validate_python(raw))


def rows(conn: Connection, project_id: str) -> list[list[dict[str, Any]]]:
    out = []
    for table, skip in (
        (conversations, {"project_id", "logged_at"}),
        (messages, {"project_id", "updated_at"}),
        (semantic_threads, {"project_id", "last_updated"}),
    ):
        found = conn.execute(
            select(table).where(table.c.project_id == project_id).order_by(table.c.id)
        ).mappings()
        out.append([{k: v for k, v in row.items() if k not in skip} for row in found])
    return out


def test_the_batched_insert_stores_the_rows_the_upsert_stores(
    engine: Engine, project: ProjectKeys, other_project: ProjectKeys
) -> None:
    with engine.begin() as conn:
        for n in range(3):
            upsert_conversation(conn, project.scope, body(f"c{n}", f"m{n}_"))
        outcomes = insert_conversations(
            conn, other_project.scope, [body(f"c{n}", f"m{n}_") for n in range(3)], probe=False
        )
    assert all(not isinstance(o, Exception) for o in outcomes)
    with engine.connect() as conn:
        ours, theirs = (
            rows(conn, project.scope.project_id),
            rows(conn, other_project.scope.project_id),
        )
    for table in ours + theirs:
        for row in table:
            row.pop("organization_id", None)
            row.pop("integration_id", None)
    assert theirs == ours
    assert [len(t) for t in ours] == [3, 9, 3]
    assert [m["updated_with_log"] for m in ours[1][:3]] == [True, False, False]


def test_the_batched_insert_refuses_what_the_upsert_refuses(
    engine: Engine, project: ProjectKeys
) -> None:
    with engine.begin() as conn:
        insert_conversations(conn, project.scope, [body("c0", "m")])
        twice = body("c1", "x")
        twice.messages[1].id = "x0"
        outcomes = insert_conversations(
            conn, project.scope, [body("c2", "m"), twice, body("c3", "y"), body("c4", "y")]
        )
    assert (
        isinstance(outcomes[0], Conflict) and "belongs to conversation 'c0'" in outcomes[0].detail
    )
    assert isinstance(outcomes[1], InvalidInput) and outcomes[1].field == "messages[1].id"
    assert not isinstance(outcomes[2], Exception)
    assert (
        isinstance(outcomes[3], Conflict) and "belongs to conversation 'c3'" in outcomes[3].detail
    )
    with engine.connect() as conn:
        stored = conn.execute(select(conversations.c.id).order_by(conversations.c.id)).scalars()
        assert list(stored) == ["c0", "c3"]


def test_without_the_probe_a_stored_message_id_fails_the_insert(
    engine: Engine, project: ProjectKeys
) -> None:
    from sqlalchemy.exc import IntegrityError

    with engine.begin() as conn:
        insert_conversations(conn, project.scope, [body("c0", "m")])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        insert_conversations(conn, project.scope, [body("c1", "m")], probe=False)
