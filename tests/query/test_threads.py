"""Threads are derived deterministically from a conversation's messages (API.md §4.10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update

from convoscope.store import Conversation, ConversationIn, Message, MessageIn, Scope
from convoscope.store.conversations import delete_conversation, upsert_conversation
from convoscope.store.tables import semantic_threads
from convoscope.store.threads import thread_id, thread_rows

T0 = datetime(2025, 3, 3, 10, tzinfo=UTC)
SCOPE = Scope("org", "proj", "int")


def message(i: int, role: str, content: object) -> Message:
    at = T0 + timedelta(minutes=i)
    return Message(f"m{i}", "c1", role, content, at, at)


def conversation(*messages: Message) -> Conversation:
    return Conversation(
        "c1",
        "openai",
        "proj",
        "org",
        "int",
        T0,
        T0,
        properties={"plan": "pro"},
        messages=list(messages),
    )


def test_each_user_message_starts_a_thread_and_system_prompts_belong_to_none() -> None:
    rows = thread_rows(
        SCOPE,
        conversation(
            message(0, "system", "Be brief."),
            message(
                1,
                "user",
                [
                    {"type": "text", "text": "Hi"},
                    {"type": "image_url"},
                    {"type": "text", "text": "there"},
                ],
            ),
            message(2, "assistant", "Hello"),
            message(3, "assistant", [{"type": "text", "text": "How can I help?"}]),
            message(4, "user", "Rotate keys?"),
            message(5, "user", "Anyone?"),
        ),
        now=T0,
    )
    assert [(r["question"], r["answer"], r["message_ids"]) for r in rows] == [
        ("Hi\nthere", "Hello\n\nHow can I help?", ["m1", "m2", "m3"]),
        ("Rotate keys?", "", ["m4"]),
        ("Anyone?", "", ["m5"]),
    ]
    first = rows[0]
    assert first["first_position"] == 1 and first["last_position"] == 3
    assert first["first_message_time"] == T0 + timedelta(minutes=1)
    assert first["last_message_time"] == T0 + timedelta(minutes=3)
    assert first["question_length"] == len("Hi\nthere")
    assert first["is_initial_question_answer"] is True
    assert [r["is_initial_question_answer"] for r in rows[1:]] == [False, False]
    assert first["conversation_ids"] == ["c1"]
    assert first["properties"] == {"plan": "pro"}
    assert first["id"] == thread_id("c1", "m1")
    assert first["is_documented"] is None


def test_support_tickets_thread_on_customer_messages() -> None:
    rows = thread_rows(
        SCOPE,
        conversation(message(0, "customer", "Export fails"), message(1, "agent", None)),
        now=T0,
    )
    assert [(r["question"], r["answer"]) for r in rows] == [("Export fails", "")]


def test_thread_ids_are_stable_and_fit_the_column() -> None:
    long = "x" * 512
    assert thread_id(long, long) == thread_id(long, long)
    assert len(thread_id(long, long)) <= 64
    assert thread_id("a", "bc") != thread_id("ab", "c")


def _log(engine: Engine, *questions: str) -> None:
    data = ConversationIn(
        "openai",
        [
            MessageIn(role, text, id=f"m{i}")
            for i, (role, text) in enumerate(
                (r, t) for q in questions for r, t in (("user", q), ("assistant", "ok"))
            )
        ],
        id="c1",
    )
    with engine.begin() as conn:
        upsert_conversation(conn, SCOPE, data)


def _annotations(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(semantic_threads.c.question, semantic_threads.c.subject).order_by(
                semantic_threads.c.position
            )
        )
        return [(r.question, r.subject) for r in rows]


def test_relogging_keeps_the_annotations_of_unchanged_threads(engine: Engine) -> None:
    _log(engine, "first?", "second?")
    with engine.begin() as conn:
        conn.execute(update(semantic_threads).values(subject="keys"))
    _log(engine, "first?", "second, edited?", "third?")
    assert _annotations(engine) == [
        ("first?", "keys"),
        ("second, edited?", None),
        ("third?", None),
    ]
    with engine.begin() as conn:
        delete_conversation(conn, SCOPE, "c1")
    assert _annotations(engine) == []
