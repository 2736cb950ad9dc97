"""A conversation logged again writes only what changed: the rows written per turn stay
the same however long the conversation grows, and what every read returns is what a
rewrite of the whole history would have stored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, text

from convoscope.store import ConversationIn, FeedbackIn, MessageIn, Scope
from convoscope.store.conversations import get_conversation, upsert_conversation
from convoscope.store.feedback import list_feedback, upsert_feedback
from convoscope.store.tables import semantic_threads
from tests.conftest import ProjectKeys


def turns(count: int, *, ids: bool, prefix: str = "c1") -> list[MessageIn]:
    """``count`` question-and-answer turns, a few hundred characters each."""
    messages = []
    for turn in range(count):
        for role, text_ in (("user", "How do I rotate key"), ("assistant", "Open Settings")):
            messages.append(
                MessageIn(
                    role=role,
                    content=f"{text_} number {turn}? " + "detail " * 40,
                    id=f"{prefix}-{role}-{turn}" if ids else None,
                )
            )
    return messages


def body(messages: list[MessageIn], **fields: Any) -> ConversationIn:
    omitted = frozenset({"properties", "user_properties", "tags"} - set(fields))
    return ConversationIn(
        type="openai", id="c1", messages=list(messages), omitted=omitted, **fields
    )


@contextmanager
def rows_written(conn: Connection) -> Iterator[list[int]]:
    """Rows inserted, updated or deleted inside the block (the engine's own counters)."""
    found: list[int] = []

    def count() -> int:
        if conn.dialect.name == "sqlite":
            return int(conn.connection.driver_connection.total_changes)  # type: ignore[union-attr]
        return int(
            conn.execute(
                text(
                    "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                    "FROM pg_stat_xact_user_tables"
                )
            ).scalar_one()
        )

    before = count()
    yield found
    found.append(count() - before)


def log(engine: Engine, scope: Scope, data: ConversationIn) -> int:
    """Log ``data`` in its own transaction; return the rows it wrote."""
    with engine.begin() as conn, rows_written(conn) as written:
        upsert_conversation(conn, scope, data)
    return written[0]


@pytest.mark.parametrize("ids", [True, False], ids=["client ids", "no ids"])
def test_a_turn_writes_as_many_rows_at_the_thirtieth_turn_as_at_the_second(
    engine: Engine, project: ProjectKeys, ids: bool
) -> None:
    written = [log(engine, project.scope, body(turns(n, ids=ids))) for n in range(1, 31)]
    # The conversation's row, the turn's two messages, its thread and the day's count of
    # questions (store/summaries.py): nothing earlier. The first log also counts the
    # conversation.
    assert written[1:] == [5] * 29
    assert written[0] == 6
    with engine.connect() as conn:
        stored = get_conversation(conn, project.scope, "c1")
        assert len(stored.messages) == 60
        positions = conn.execute(
            select(semantic_threads.c.position).order_by(semantic_threads.c.position)
        ).scalars()
        assert list(positions) == list(range(30))


def test_a_history_that_differs_from_the_start_is_replaced_whole(
    engine: Engine, project: ProjectKeys
) -> None:
    log(engine, project.scope, body(turns(10, ids=False)))
    changed = turns(10, ids=False)
    changed[0] = MessageIn(role="user", content="Another first question")
    # All 20 messages deleted and inserted, all 10 threads too, and the conversation.
    assert log(engine, project.scope, body(changed)) == 2 * 20 + 2 * 10 + 1
    with engine.connect() as conn:
        stored = get_conversation(conn, project.scope, "c1")
    assert stored.messages[0].content == "Another first question"
    assert [m.content for m in stored.messages[1:]] == [m.content for m in changed[1:]]


def test_a_changed_last_answer_rewrites_that_message_and_its_thread_only(
    engine: Engine, project: ProjectKeys
) -> None:
    log(engine, project.scope, body(turns(10, ids=True)))
    changed = turns(10, ids=True)
    changed[-1] = MessageIn(role="assistant", content="A better answer", id=changed[-1].id)
    # One message and one thread, each deleted and inserted, and the conversation.
    assert log(engine, project.scope, body(changed)) == 2 + 2 + 1
    shorter = changed[:-1]
    # The answer dropped: its message deleted; its thread deleted and inserted again.
    assert log(engine, project.scope, body(shorter)) == 1 + 2 + 1
    with engine.connect() as conn:
        stored = get_conversation(conn, project.scope, "c1")
        answers = conn.execute(
            select(semantic_threads.c.answer).order_by(semantic_threads.c.position)
        ).scalars()
        assert list(answers)[-1] == ""
    assert [m.id for m in stored.messages] == [m.id for m in shorter]


def test_every_message_reads_as_updated_by_the_last_log_unless_it_said_otherwise(
    engine: Engine, project: ProjectKeys
) -> None:
    sent = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    first = turns(2, ids=False)
    first[1].updated_at = sent
    log(engine, project.scope, body(first))
    with engine.connect() as conn:
        created = [m.created_at for m in get_conversation(conn, project.scope, "c1").messages]
    second = [*turns(2, ids=False), *turns(3, ids=False)[4:]]
    second[1].updated_at = sent
    log(engine, project.scope, body(second, updated_at=datetime(2020, 1, 1, tzinfo=UTC)))
    with engine.connect() as conn:
        stored = get_conversation(conn, project.scope, "c1")
        logged_at = conn.execute(text("SELECT logged_at FROM conversations")).scalar_one()
    assert stored.updated_at == datetime(2020, 1, 1, tzinfo=UTC)
    # Sent without updatedAt: the time of the last log, as if each had been rewritten.
    times = [m.updated_at for m in stored.messages]
    assert times[1] == sent
    assert len({t for i, t in enumerate(times) if i != 1}) == 1
    assert times[0] > sent and str(times[0])[:19] == str(logged_at)[:19]
    # createdAt is kept from the first log.
    assert [m.created_at for m in stored.messages[:4]] == created


def test_feedback_on_stored_messages_survives_every_turn(
    engine: Engine, project: ProjectKeys
) -> None:
    log(engine, project.scope, body(turns(1, ids=False)))
    with engine.begin() as conn:
        answer_id = get_conversation(conn, project.scope, "c1").messages[1].id
        upsert_feedback(conn, project.scope, FeedbackIn(type="positive", message_id=answer_id))
    for n in range(2, 6):
        log(engine, project.scope, body(turns(n, ids=False)))
    with engine.connect() as conn:
        assert get_conversation(conn, project.scope, "c1").messages[1].id == answer_id
        total, rated = list_feedback(conn, project.scope, limit=10, offset=0)
    assert total == {"positive": 1} and rated[0].message_id == answer_id


def test_an_omitted_field_keeps_its_value_and_a_null_clears_it_in_threads_too(
    engine: Engine, project: ProjectKeys
) -> None:
    log(engine, project.scope, body(turns(1, ids=True), properties={"plan": "pro"}))
    # properties omitted: kept, on the conversation and on the thread already stored.
    log(engine, project.scope, body(turns(2, ids=True)))
    assert thread_properties(engine) == [{"plan": "pro"}] * 2
    # Changed: the stored thread takes the new value without being derived again.
    log(engine, project.scope, body(turns(3, ids=True), properties={"plan": "team"}))
    assert thread_properties(engine) == [{"plan": "team"}] * 3
    log(engine, project.scope, body(turns(3, ids=True), properties=None))
    assert thread_properties(engine) == [None] * 3
    with engine.connect() as conn:
        assert get_conversation(conn, project.scope, "c1").properties is None


def thread_properties(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(semantic_threads.c.properties).order_by(semantic_threads.c.position)
            ).scalars()
        )


def test_json_values_equal_in_python_but_not_in_json_are_written(
    engine: Engine, project: ProjectKeys
) -> None:
    first = turns(1, ids=True)
    first[0].properties = {"flag": 1}
    log(engine, project.scope, body(first))
    second = turns(1, ids=True)
    second[0].properties = {"flag": True}  # == 1 in Python, not in JSON
    log(engine, project.scope, body(second))
    with engine.connect() as conn:
        stored = get_conversation(conn, project.scope, "c1")
    assert stored.messages[0].properties == {"flag": True}
    assert stored.messages[0].properties["flag"] is True
