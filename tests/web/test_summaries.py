"""The dashboard's summaries, kept on write, always give the DSL's answers.

After every kind of write (new conversations, re-logs that move or drop messages,
feedback given, changed, moved and deleted, annotations saved and verified, a
conversation deleted, a user forgotten, retention), on both engines:

- the summary tables hold exactly what rebuilding them from the rows gives;
- the threads' stored feedback flags are what ``feedback_flag`` says;
- every report built on them equals the same report made of DSL queries alone, for
  windows of whole days, of days with hours at each end, and of hours only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from convoscope.errors import ConversationNotFound
from convoscope.store import (
    ConversationIn,
    FeedbackIn,
    MessageIn,
    Scope,
    Writer,
    migrate,
    summaries,
    transfer,
)
from convoscope.store import annotations as annotation_store
from convoscope.store import conversations as conversation_store
from convoscope.store import feedback as feedback_store
from convoscope.store.erasure import delete_conversations, expired_conversations, forget_user
from convoscope.store.tables import conversation_days, semantic_threads, user_days
from convoscope.store.threads import ANNOTATION_COLUMNS, feedback_flag
from convoscope.web import Window, reports
from tests.conftest import ProjectKeys

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
CATEGORIES = ["billing", "sso", "webhooks", None]
SENTIMENTS = ["positive", "neutral", "negative", None]
USERS: list[dict[str, Any] | None] = [
    {"id": "ann"}, {"id": "bob"}, {"id": 7}, {"id": "7"}, {"userId": "zed"}, None,
    {"id": "ann", "plan": "pro"}, {"id": None},
]  # fmt: skip
INTEGRATIONS = ["int_a", "int_b", None]


def conversation(n: int, *, turns: int = 2, shift: timedelta = timedelta()) -> ConversationIn:
    start = DAY0 + timedelta(hours=7 * n + 3) + shift
    messages = []
    for turn in range(turns):
        at = start + timedelta(minutes=turn * 50)
        messages.append(MessageIn(role="user", id=f"m{n}-{turn}q", content=f"q {n} {turn}",
                                  created_at=at))  # fmt: skip
        messages.append(MessageIn(role="assistant", id=f"m{n}-{turn}a", content=f"a {n}",
                                  created_at=at + timedelta(minutes=1)))  # fmt: skip
    return ConversationIn(
        type="openai",
        id=f"c{n}",
        messages=messages,
        integration_id=INTEGRATIONS[n % 3],
        user_properties=USERS[n % len(USERS)],
    )


def windows() -> list[Window]:
    out = []
    for integration in (None, "int_a"):
        out += [
            Window(DAY0 + timedelta(days=2), DAY0 + timedelta(days=6), integration),
            Window(DAY0 + timedelta(days=1, hours=5), DAY0 + timedelta(days=7, hours=13),
                   integration),
            Window(DAY0 + timedelta(days=3, hours=2), DAY0 + timedelta(days=4, hours=2),
                   integration),
            Window(DAY0 - timedelta(days=3), DAY0 + timedelta(days=30), integration),
        ]  # fmt: skip
    return out


REPORTS = (
    reports.overview_cards,
    reports.conversations_over_time,
    reports.feedback_per_day,
    reports.sentiment_mix,
    reports.top_categories,
    reports.topics,
)


def summary_rows(conn: Connection, project_id: str) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table in summaries.SUMMARY_TABLES:
        rows = conn.execute(select(table).where(table.c.project_id == project_id))
        out[table.name] = sorted(tuple(r) for r in rows)
    return out


def assert_consistent(engine: Engine, project_id: str) -> None:
    with engine.connect() as conn:
        kept = summary_rows(conn, project_id)
        summaries.rebuild(conn, project_id)
        assert kept == summary_rows(conn, project_id)
        conn.rollback()
        t = semantic_threads.c
        stale = conn.execute(
            select(func.count()).where(
                t.project_id == project_id,
                (t.has_positive_feedback != feedback_flag("positive"))
                | (t.has_negative_feedback != feedback_flag("negative")),
            )
        ).scalar_one()
        assert stale == 0
        for window in windows():
            for report in REPORTS:
                from_summaries = report(conn, project_id, window)
                from_dsl = report(conn, project_id, window, use_summaries=False)
                assert from_summaries == from_dsl, (report.__name__, window)


def annotate_all(conn: Connection, project_id: str, seed: int) -> None:
    now = datetime.now(UTC)
    claimed = annotation_store.claim_threads(
        conn, project_id, limit=1000, now=now, lease=timedelta(minutes=5)
    )
    for i, thread in enumerate(claimed):
        k = i + seed
        values = {
            "category": CATEGORIES[k % 4],
            "sentiment": SENTIMENTS[(k // 2) % 4],
            "is_documented": [True, False, None][k % 3],
            "is_answer_confident": [True, False, None][(k // 3) % 3],
        }
        annotation_store.save_annotation(conn, thread, values, source="test")


def test_the_summaries_follow_every_write(engine: Engine, project: ProjectKeys) -> None:
    scope, p = project.scope, project.scope.project_id
    other = Scope(scope.organization_id, p, "int_b")
    with engine.begin() as conn:
        for n in range(24):
            conversation_store.upsert_conversation(conn, scope, conversation(n))
    assert_consistent(engine, p)

    with engine.begin() as conn:
        annotate_all(conn, p, seed=0)
        for n in range(0, 24, 2):
            kind = "negative" if n % 4 else "positive"
            feedback_store.upsert_feedback(
                conn,
                scope if n % 3 else other,
                FeedbackIn(type=kind, message_id=f"m{n}-0a", id=f"fb{n}",
                           created_at=DAY0 + timedelta(hours=9 * n)),
            )  # fmt: skip
        feedback_store.upsert_feedback(
            conn, scope, FeedbackIn(type="positive", message_id="m3-1a", id="fb-late")
        )
    assert_consistent(engine, p)

    with engine.begin() as conn:
        # Feedback that changes type, and feedback that moves to another conversation.
        feedback_store.upsert_feedback(
            conn, scope, FeedbackIn(type="positive", message_id="m2-0a", id="fb2")
        )
        feedback_store.upsert_feedback(
            conn, scope, FeedbackIn(type="negative", message_id="m5-1a", id="fb4")
        )
        feedback_store.delete_feedback(conn, scope, "fb6")
        # Re-logs: one a turn longer, one moved two days later, one without its rated
        # answer (which takes its feedback), one with another user.
        conversation_store.upsert_conversation(conn, scope, conversation(1, turns=3))
        conversation_store.upsert_conversation(
            conn, scope, conversation(8, shift=timedelta(days=2, hours=5))
        )
        dropped = conversation(10)
        dropped.messages = dropped.messages[:1] + dropped.messages[2:]
        conversation_store.upsert_conversation(conn, scope, dropped)
        renamed = conversation(12)
        renamed.user_properties = {"id": "carol"}
        conversation_store.upsert_conversation(conn, scope, renamed)
        annotate_all(conn, p, seed=1)
        thread = conn.execute(
            select(semantic_threads.c.id).where(
                semantic_threads.c.project_id == p, semantic_threads.c.conversation_id == "c14"
            )
        ).scalars().first()  # fmt: skip
        assert thread is not None
        annotation_store.verify_fields(conn, p, thread, {"category": "sso", "is_documented": False})
    assert_consistent(engine, p)

    with engine.begin() as conn:
        conversation_store.delete_conversation(conn, scope, "c16")
        forget_user(conn, p, ["id", "userId"], ["ann"], dry_run=False)
        old = expired_conversations(conn, p, DAY0 + timedelta(days=1), limit=None)
        assert old
        delete_conversations(conn, p, old)
    assert_consistent(engine, p)
    with engine.connect() as conn:
        keys = conn.execute(
            select(user_days.c.user_key).where(user_days.c.project_id == p)
        ).scalars()
        assert '"ann"' not in set(keys)  # forgotten, from the summaries too


def test_a_bulk_rebuild_matches_the_dsl(engine: Engine, project: ProjectKeys) -> None:
    """What bench/ and migration 0013 rely on: rebuilt summaries answer as the DSL does."""
    scope, p = project.scope, project.scope.project_id
    with engine.begin() as conn:
        for n in range(12):
            conversation_store.upsert_conversation(conn, scope, conversation(n))
        annotate_all(conn, p, seed=2)
        feedback_store.upsert_feedback(
            conn, scope, FeedbackIn(type="negative", message_id="m4-0a", id="fbx")
        )
        summaries.rebuild(conn, p)
    assert_consistent(engine, p)


def test_0013_builds_the_summaries_and_flags_of_stored_data(
    engine: Engine, project: ProjectKeys
) -> None:
    scope, p = project.scope, project.scope.project_id
    with engine.begin() as conn:
        for n in range(12):
            conversation_store.upsert_conversation(conn, scope, conversation(n))
        annotate_all(conn, p, seed=3)
        for n in (1, 4, 5):
            feedback_store.upsert_feedback(
                conn, scope, FeedbackIn(type="negative" if n % 2 else "positive",
                                        message_id=f"m{n}-1a", id=f"fb{n}")
            )  # fmt: skip
        expected = summary_rows(conn, p)
    migrate.downgrade(engine, "0012")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert summary_rows(conn, p) == expected
        flagged = conn.execute(
            select(semantic_threads.c.conversation_id, semantic_threads.c.position).where(
                semantic_threads.c.project_id == p,
                semantic_threads.c.has_positive_feedback | semantic_threads.c.has_negative_feedback,
            )
        ).all()
    assert sorted(flagged) == [("c1", 1), ("c4", 1), ("c5", 1)]
    assert_consistent(engine, p)


def test_an_import_counts_its_conversations_and_restored_annotations(
    engine: Engine, project: ProjectKeys
) -> None:
    scope, p = project.scope, project.scope.project_id
    with engine.begin() as conn:
        transfer.insert_conversations(conn, scope, [conversation(n) for n in range(10)])
        feedback_store.upsert_feedback(
            conn, scope, FeedbackIn(type="positive", message_id="m2-0a", id="fbi")
        )
        threads = conn.execute(
            select(semantic_threads.c.id, semantic_threads.c.conversation_id).where(
                semantic_threads.c.project_id == p
            )
        ).all()
        values = {name: None for name in ANNOTATION_COLUMNS}
        transfer.restore_threads(
            conn,
            scope,
            [
                transfer.ThreadState(
                    id=t.id, conversation_id=t.conversation_id, status="done", attempts=0,
                    error=None,
                    values={**values, "category": CATEGORIES[i % 4], "is_documented": i % 2 == 0},
                )
                for i, t in enumerate(threads)
            ],
        )  # fmt: skip
    assert_consistent(engine, p)


def test_an_import_counts_its_users_as_the_database_spells_them(
    engine: Engine, project: ProjectKeys
) -> None:
    # The import counts users from the rows it wrote: each of these keys is what the
    # database would compute from the stored JSON, or is read back where Python is unsure.
    ids: list[Any] = [
        "plain", 'quo"te', "back\\slash", "tab\there", "é-accent", "雪", "\u2028", " ",
        "x" * 300, 12, -3.5, 1e20, True, False, [1, "a"], {"k": "v"}, "",
    ]  # fmt: skip
    batch = []
    for n, user in enumerate(ids):
        data = conversation(n)
        batch.append(replace(data, user_properties={"id": user, "plan": "pro"}))
    with engine.begin() as conn:
        transfer.insert_conversations(conn, project.scope, batch)
    assert_consistent(engine, project.scope.project_id)


async def _in_one_batch(engine: Engine, jobs: list[Callable[[Connection], Any]]) -> list[Any]:
    """Run ``jobs`` through a writer in one group commit; their outcomes (or errors)."""
    writer = Writer(engine, max_batch=len(jobs) + 1)
    writer.start()
    running, gate = threading.Event(), threading.Event()

    def hold(conn: Connection) -> None:
        running.set()
        gate.wait(10)

    try:
        blocker = asyncio.ensure_future(writer.run(hold))
        assert await asyncio.to_thread(running.wait, 10)
        queued = [asyncio.ensure_future(writer.run(job)) for job in jobs]
        await asyncio.sleep(0)  # every job queued behind the one that holds the writer
        gate.set()
        await blocker
        outcomes = await asyncio.gather(*queued, return_exceptions=True)
        # The hold, then the batch; a failing job adds the batch's fenced run.
        assert writer.commits <= 3, writer.commits
        return outcomes
    finally:
        gate.set()
        writer.stop()


def _upsert(scope: Scope, conversation: ConversationIn) -> Callable[[Connection], Any]:
    return lambda conn: conversation_store.upsert_conversation(conn, scope, conversation)


async def test_a_failing_write_in_a_batch_leaves_no_count_behind(
    engine: Engine, project: ProjectKeys
) -> None:
    """The batch runs again fenced once a job fails: the deltas of its first run, and
    those of the failing job (which wrote and counted before it failed), are dropped;
    the others' are applied once."""
    scope, p = project.scope, project.scope.project_id

    def counted_then_failed(conn: Connection) -> None:
        conversation_store.upsert_conversation(conn, scope, conversation(5))
        raise ConversationNotFound("after its counts were taken")

    jobs = [_upsert(scope, conversation(n)) for n in range(4)]
    outcomes = await _in_one_batch(engine, [*jobs[:2], counted_then_failed, *jobs[2:]])
    assert isinstance(outcomes[2], ConversationNotFound)
    assert not any(isinstance(o, BaseException) for o in outcomes[:2] + outcomes[3:])
    assert_consistent(engine, p)
    with engine.connect() as conn:
        total = conn.execute(
            select(func.sum(conversation_days.c.conversations)).where(
                conversation_days.c.project_id == p
            )
        ).scalar_one()
    assert total == 4


async def test_many_writes_of_one_summary_row_in_a_batch_add_up(
    engine: Engine, project: ProjectKeys
) -> None:
    """Forty conversations of one day, integration and user, re-logs that move one to
    another day and back, and one deleted: one upsert per row adds what they all did."""
    scope, p = project.scope, project.scope.project_id

    def same_day(n: int, shift: timedelta = timedelta()) -> ConversationIn:
        c = conversation(0, shift=shift)
        c.id, c.user_properties = f"same{n}", {"id": "ann"}
        for m in c.messages:
            m.id = f"same{n}-{m.id}"
        return c

    jobs = [_upsert(scope, same_day(n)) for n in range(40)]
    jobs += [
        _upsert(scope, same_day(3, timedelta(days=2))),
        _upsert(scope, same_day(4, timedelta(days=2))),
        _upsert(scope, same_day(4)),
        lambda conn: conversation_store.delete_conversation(conn, scope, "same7"),
    ]
    outcomes = await _in_one_batch(engine, jobs)
    assert not any(isinstance(o, BaseException) for o in outcomes)
    assert_consistent(engine, p)
    with engine.connect() as conn:
        per_day = conn.execute(
            select(conversation_days.c.day, conversation_days.c.conversations).where(
                conversation_days.c.project_id == p
            )
        ).all()
        users = conn.execute(
            select(user_days.c.day, user_days.c.conversations).where(user_days.c.project_id == p)
        ).all()
    day0, day2 = DAY0.date().isoformat(), (DAY0 + timedelta(days=2)).date().isoformat()
    assert sorted(per_day) == [(day0, 38), (day2, 1)]
    assert sorted(users) == [(day0, 38), (day2, 1)]
