"""Deleting data for good: a user's (forget), or a project's old conversations (retention).

A conversation goes with everything stored about it: its messages, their feedback, its
events and its semantic threads (which hold the annotations). Each erasure leaves one row
in ``erasures``: when, why, who asked and how many rows went, never what they held.

Deleted rows leave their bytes in the file until the space is reused, so ``free_space``
gives it back: on SQLite an incremental vacuum (or a full VACUUM on a database made
before incremental vacuum was set, see ``sqlite_vacuum_mode``) and a WAL checkpoint that
truncates the log; on PostgreSQL a VACUUM of the tables, which makes the space reusable,
with ANALYZE, so the planner's statistics (most common values) forget the deleted rows.
Every SQLite connection runs with ``secure_delete=FAST`` (store/engine.py), so a deleted
row's bytes inside a page still in use are zeroed as it is deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    delete,
    func,
    insert,
    or_,
    select,
)

from convoscope.store import summaries
from convoscope.store.engine import Dialect, dialect_of
from convoscope.store.ids import new_id
from convoscope.store.prepared import in_chunks
from convoscope.store.tables import (
    conversations,
    erasures,
    events,
    feedback,
    messages,
    semantic_threads,
)
from convoscope.store.threads import refresh_feedback_flags

FEEDBACK_COUNTED = (summaries.FEEDBACK, summaries.THREADS)
DATA_TABLES = ("conversations", "messages", "feedback", "events", "semantic_threads")


@dataclass(slots=True)
class Erased:
    """How many rows an erasure removed (or, in a dry run, would remove)."""

    conversations: int = 0
    messages: int = 0
    feedback: int = 0
    events: int = 0
    threads: int = 0

    def add(self, other: Erased) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    @property
    def total(self) -> int:
        return sum(asdict(self).values())


def _user_matches(column: Any, keys: Sequence[str], forms: Sequence[str]) -> ColumnElement[bool]:
    """The JSON object ``column`` names the user under one of ``keys``.

    The value is compared as text, which is how both engines give out a JSON number too
    (``7`` reads as ``'7'``), so an id sent as a number is found by its digits. Never
    cast it to an integer: SQLite makes 0 of ``'u1'`` (forgetting user "0" took every
    user with a name), and PostgreSQL refuses to (a 500).
    """
    return or_(*(column[key].as_string().in_(forms) for key in keys))


def conversations_of_user(
    conn: Connection, project_id: str, keys: Sequence[str], forms: Sequence[str]
) -> list[str]:
    """Ids of the conversations whose user, or one of whose messages' user, is the user."""
    by_conversation = select(conversations.c.id).where(
        conversations.c.project_id == project_id,
        _user_matches(conversations.c.user_properties, keys, forms),
    )
    by_message = select(messages.c.conversation_id).where(
        messages.c.project_id == project_id,
        _user_matches(messages.c.user_properties, keys, forms),
    )
    found = {str(i) for (i,) in conn.execute(by_conversation)}
    found |= {str(i) for (i,) in conn.execute(by_message)}
    return sorted(found)


def forget_user(
    conn: Connection,
    project_id: str,
    keys: Sequence[str],
    forms: Sequence[str],
    *,
    dry_run: bool,
) -> Erased:
    """Delete (or count) every conversation, feedback and event of the user."""
    ids = conversations_of_user(conn, project_id, keys, forms)
    erased = delete_conversations(conn, project_id, ids, dry_run=dry_run)
    # Feedback and events the user sent about conversations that are not theirs.
    own_feedback = (
        feedback.c.project_id == project_id,
        _user_matches(feedback.c.user_properties, keys, forms),
    )
    own_events = (
        events.c.project_id == project_id,
        _user_matches(events.c.user_properties, keys, forms),
    )
    if dry_run:
        erased.feedback += _count(conn, select(func.count()).where(*own_feedback))
        erased.events += _count(conn, select(func.count()).where(*own_events))
    else:
        of_rated = select(feedback.c.conversation_id).where(*own_feedback)
        rated = sorted({str(c) for (c,) in conn.execute(of_rated)})
        with summaries.kept_current(conn, project_id, rated, parts=FEEDBACK_COUNTED):
            erased.feedback += conn.execute(delete(feedback).where(*own_feedback)).rowcount
            for conversation_id in rated:
                refresh_feedback_flags(conn, project_id, conversation_id)
        erased.events += conn.execute(delete(events).where(*own_events)).rowcount
    return erased


def expired_conversations(
    conn: Connection, project_id: str, cutoff: datetime, *, limit: int | None
) -> list[str]:
    """Up to ``limit`` (None: all) ids of conversations whose last message is older than ``cutoff``.

    The first message bounds the last from below, so the (project, first_message_time)
    index narrows the scan to conversations that began before the cutoff.
    """
    rows = conn.execute(
        select(conversations.c.id)
        .where(
            conversations.c.project_id == project_id,
            conversations.c.first_message_time < cutoff,
            conversations.c.last_message_time < cutoff,
        )
        .order_by(conversations.c.first_message_time)
        .limit(limit)
    )
    return [str(i) for (i,) in rows]


def expire_events(
    conn: Connection, project_id: str, cutoff: datetime, *, dry_run: bool, limit: int
) -> int:
    """Events older than ``cutoff`` that belong to no conversation (searches, mostly)."""
    old = select(events.c.id).where(
        events.c.project_id == project_id,
        events.c.created_at < cutoff,
        events.c.conversation_id.is_(None),
    )
    if dry_run:
        return _count(conn, select(func.count()).select_from(old.subquery()))
    ids = [str(i) for (i,) in conn.execute(old.limit(limit))]
    if not ids:
        return 0
    return int(
        conn.execute(
            delete(events).where(events.c.project_id == project_id, events.c.id.in_(ids))
        ).rowcount
    )


def delete_conversations(
    conn: Connection, project_id: str, ids: Sequence[str], *, dry_run: bool = False
) -> Erased:
    """Delete (or count) the conversations with everything derived from them."""
    erased = Erased()
    for chunk in in_chunks(list(ids)):
        if dry_run:
            erased.add(_delete_chunk(conn, project_id, chunk, dry_run=True))
            continue
        # Their counts leave the dashboard's summaries, a forgotten user's key with them.
        with summaries.kept_current(conn, project_id, chunk):
            erased.add(_delete_chunk(conn, project_id, chunk, dry_run=False))
    return erased


def _delete_chunk(
    conn: Connection, project_id: str, chunk: Sequence[str], *, dry_run: bool
) -> Erased:
    of_messages = select(messages.c.id).where(
        messages.c.project_id == project_id, messages.c.conversation_id.in_(chunk)
    )
    filters: list[tuple[Any, tuple[ColumnElement[bool], ...]]] = [
        (
            events,
            (
                events.c.project_id == project_id,
                or_(
                    events.c.conversation_id.in_(chunk),
                    events.c.message_id.in_(of_messages.scalar_subquery()),
                ),
            ),
        ),
        (
            feedback,
            (feedback.c.project_id == project_id, feedback.c.conversation_id.in_(chunk)),
        ),
        (
            semantic_threads,
            (
                semantic_threads.c.project_id == project_id,
                semantic_threads.c.conversation_id.in_(chunk),
            ),
        ),
        (
            messages,
            (messages.c.project_id == project_id, messages.c.conversation_id.in_(chunk)),
        ),
        (
            conversations,
            (conversations.c.project_id == project_id, conversations.c.id.in_(chunk)),
        ),
    ]
    counts: dict[str, int] = {}
    for table, where in filters:
        if dry_run:
            counts[table.name] = _count(conn, select(func.count()).select_from(table).where(*where))
        else:
            counts[table.name] = int(conn.execute(delete(table).where(*where)).rowcount)
    return Erased(
        conversations=counts["conversations"],
        messages=counts["messages"],
        feedback=counts["feedback"],
        events=counts["events"],
        threads=counts["semantic_threads"],
    )


def record_erasure(
    conn: Connection,
    project_id: str,
    *,
    reason: str,
    requested_by: str,
    started_at: datetime,
    finished_at: datetime,
    erased: Erased,
) -> str:
    erasure_id = new_id("era")
    conn.execute(
        insert(erasures).values(
            project_id=project_id,
            id=erasure_id,
            reason=reason,
            requested_by=requested_by,
            started_at=started_at,
            finished_at=finished_at,
            **asdict(erased),
        )
    )
    return erasure_id


def list_erasures(conn: Connection, project_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(erasures)
        .where(erasures.c.project_id == project_id)
        .order_by(erasures.c.started_at.desc(), erasures.c.id.desc())
        .limit(limit)
    ).mappings()
    return [dict(row) for row in rows]


def sqlite_vacuum_mode(engine: Engine) -> str:
    """none, full or incremental: how the SQLite file gives freed pages back."""
    with engine.connect() as conn:
        mode = int(conn.exec_driver_sql("PRAGMA auto_vacuum").scalar_one())
        conn.rollback()
    return {0: "none", 1: "full", 2: "incremental"}[mode]


def free_space(engine: Engine, *, thorough: bool = False) -> None:
    """Give the space of deleted rows back (see the module docstring).

    Runs outside any transaction, as VACUUM and a WAL checkpoint must. ``thorough``
    (forgetting a user) also rewrites a SQLite file that lacks incremental vacuum, so no
    freed page keeps old bytes.
    """
    if dialect_of(engine) == Dialect.POSTGRESQL:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in DATA_TABLES:
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
        return
    mode = sqlite_vacuum_mode(engine)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if mode == "incremental":
            # executescript steps the pragma to its end; execute would step it once,
            # which frees a single page.
            cursor.executescript("PRAGMA incremental_vacuum;")
        elif mode == "none" and thorough:
            cursor.execute("VACUUM")
        if (
            thorough
            and cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat4'").fetchone()
        ):
            # A SQLite built with STAT4 keeps sample index keys (a user id among them)
            # in its statistics: analyzed again, they are samples of what is left.
            cursor.execute("ANALYZE")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.fetchall()
        cursor.close()
    finally:
        raw.close()


def _count(conn: Connection, query: Select[Any]) -> int:
    return int(conn.execute(query).scalar_one())
