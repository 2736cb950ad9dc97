"""Feedback: thumbs up or down on one message, upserted by id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, delete, func, insert, select, update

from convoscope.errors import FeedbackNotFound, Unprocessable
from convoscope.store import summaries
from convoscope.store.annotations import REQUEUED
from convoscope.store.ids import new_id
from convoscope.store.mapping import RowMapper
from convoscope.store.prepared import Prepared, pipelined
from convoscope.store.privacy import redact_feedback
from convoscope.store.records import Feedback, FeedbackIn, Scope
from convoscope.store.tables import feedback, messages, semantic_threads
from convoscope.store.threads import refresh_feedback_flags

# Prepared once, as on the conversations write path (see store/prepared.py).
_RATED_MESSAGE = Prepared(
    select(messages.c.conversation_id, messages.c.position).where(
        messages.c.project_id == bindparam("project_id"),
        messages.c.id == bindparam("message_id"),
    )
)
# Feedback changes what a thread's annotations say (a thumbs-down on an answer counts
# against it being grounded), so the thread holding the rated message is queued again.
_REQUEUE_THREAD = Prepared(
    update(semantic_threads)
    .where(
        semantic_threads.c.project_id == bindparam("where_project_id"),
        semantic_threads.c.conversation_id == bindparam("where_conversation_id"),
        semantic_threads.c.first_position <= bindparam("where_position"),
        semantic_threads.c.last_position >= bindparam("where_position"),
    )
    .values(REQUEUED)
)
_STORED = Prepared(
    select(feedback.c.created_at, feedback.c.conversation_id).where(
        feedback.c.project_id == bindparam("project_id"),
        feedback.c.id == bindparam("feedback_id"),
    )
)
_INSERT = Prepared(insert(feedback))
# What feedback changes of the summaries: its own counts and its threads' flags.
_COUNTED = (summaries.FEEDBACK, summaries.THREADS)
# Public for the store's bulk paths (transfer.py), which read feedback rows by the page.
FEEDBACK_ROWS = RowMapper(Feedback, feedback, supplied=("project_id", "organization_id"))
_UPDATE = Prepared(
    update(feedback).where(
        feedback.c.project_id == bindparam("where_project_id"),
        feedback.c.id == bindparam("where_id"),
    )
)


def upsert_feedback(conn: Connection, scope: Scope, data: FeedbackIn) -> Feedback:
    """Create the feedback, or update the stored feedback with the same id (redacted)."""
    data = redact_feedback(conn, scope.project_id, data)
    rated = _RATED_MESSAGE.first(
        conn, {"project_id": scope.project_id, "message_id": data.message_id}
    )
    if rated is None:
        raise Unprocessable(
            f"no message with id {data.message_id!r} in this project; log the "
            "conversation before its feedback",
            field="messageId",
        )
    conversation_id, position = rated
    now = datetime.now(UTC)
    feedback_id = data.id or new_id("fb")
    stored = (
        _STORED.first(conn, {"project_id": scope.project_id, "feedback_id": feedback_id})
        if data.id
        else None
    )
    stored_created = stored[0] if stored is not None else None
    # An update may move the feedback to another message, even of another conversation.
    touched = list(dict.fromkeys([conversation_id, *([stored[1]] if stored else [])]))
    record = Feedback(
        id=feedback_id,
        type=data.type,
        message_id=data.message_id,
        conversation_id=conversation_id,
        created_at=data.created_at or stored_created or now,
        updated_at=data.updated_at or now,
        integration_id=scope.integration_id,
        reasons=data.reasons,
        details=data.details,
        sources=data.sources,
        properties=data.properties,
        user_properties=data.user_properties,
    )
    row = _row(scope, record)
    with (
        # The dashboard's counts and the threads' feedback flags change with it.
        summaries.kept_current(conn, scope.project_id, touched, parts=_COUNTED),
        pipelined(conn),  # one round trip on PostgreSQL
    ):
        if stored_created is None:
            _INSERT.execute(conn, row)
        else:
            _UPDATE.execute(
                conn, {**row, "where_project_id": scope.project_id, "where_id": feedback_id}
            )
        _REQUEUE_THREAD.execute(
            conn,
            {
                "where_project_id": scope.project_id,
                "where_conversation_id": conversation_id,
                "where_position": position,
            },
        )
        for touched_id in touched:
            refresh_feedback_flags(conn, scope.project_id, touched_id)
    return record


def get_feedback(conn: Connection, scope: Scope, feedback_id: str) -> Feedback:
    row = (
        conn.execute(
            select(feedback).where(
                feedback.c.project_id == scope.project_id, feedback.c.id == feedback_id
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise FeedbackNotFound(feedback_id)
    return FEEDBACK_ROWS.record_from(row)


def list_feedback(
    conn: Connection, scope: Scope, *, limit: int, offset: int
) -> tuple[dict[str, int], list[Feedback]]:
    """The project's counts per type, and one page of feedback, newest first."""
    counts = {
        str(kind): int(n)
        for kind, n in conn.execute(
            select(feedback.c.type, func.count())
            .where(feedback.c.project_id == scope.project_id)
            .group_by(feedback.c.type)
        )
    }
    rows: Sequence[RowMapping] = (
        conn.execute(
            select(feedback)
            .where(feedback.c.project_id == scope.project_id)
            .order_by(feedback.c.created_at.desc(), feedback.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        .mappings()
        .all()
    )
    return counts, [FEEDBACK_ROWS.record_from(row) for row in rows]


def delete_feedback(conn: Connection, scope: Scope, feedback_id: str) -> None:
    found = _STORED.first(conn, {"project_id": scope.project_id, "feedback_id": feedback_id})
    if found is None:
        raise FeedbackNotFound(feedback_id)
    conversation_id = found[1]
    with summaries.kept_current(conn, scope.project_id, [conversation_id], parts=_COUNTED):
        conn.execute(
            delete(feedback).where(
                feedback.c.project_id == scope.project_id, feedback.c.id == feedback_id
            )
        )
        refresh_feedback_flags(conn, scope.project_id, conversation_id)


def _row(scope: Scope, f: Feedback) -> dict[str, Any]:
    return FEEDBACK_ROWS.row(f, project_id=scope.project_id, organization_id=scope.organization_id)
