"""The annotation worker's side of the database: claiming threads, saving what the
analyzer found, each project's context, and the fields a person verified.

Fields are named as their columns (``threads.ANNOTATION_FIELDS``) here, in and out: the
wire names are the API's to translate (``api/wire.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from convoscope.errors import NotFound
from convoscope.store import summaries
from convoscope.store.prepared import in_chunks
from convoscope.store.records import VerifiedFields
from convoscope.store.tables import (
    annotation_contexts,
    messages,
    projects,
    semantic_threads,
)
from convoscope.store.threads import ANNOTATION_FIELDS

PENDING, CLAIMED, DONE, FAILED = "pending", "claimed", "done", "failed"
# What queues a thread for annotation again.
REQUEUED: dict[str, Any] = {
    "annotation_status": PENDING,
    "annotation_due_at": None,
    "annotation_attempts": 0,
}

t = semantic_threads.c
_FIELDS = frozenset(ANNOTATION_FIELDS)


@dataclass(slots=True, frozen=True)
class ClaimedThread:
    project_id: str
    id: str
    question: str
    answer: str
    link_titles: list[str]
    link_urls: list[str]
    has_positive_feedback: bool
    has_negative_feedback: bool
    claimed_at: datetime
    attempts: int
    verified_fields: list[str]


@dataclass(slots=True, frozen=True)
class StoredContext:
    glossary: list[str]
    learned_glossary: list[str]
    category_model: dict[str, Any] | None
    fitted_threads: int


def _claimable(now: datetime, lease: timedelta) -> Any:
    return or_(
        and_(
            t.annotation_status == PENDING,
            or_(t.annotation_due_at.is_(None), t.annotation_due_at <= now),
        ),
        # A claim older than the lease belongs to a worker that died: take it again.
        and_(t.annotation_status == CLAIMED, t.annotation_claimed_at < now - lease),
    )


def projects_with_work(conn: Connection, *, now: datetime, lease: timedelta) -> list[str]:
    """Projects that have threads to annotate now, one indexed probe per project."""
    found = []
    for project_id in conn.execute(select(projects.c.id).order_by(projects.c.id)).scalars():
        probe = select(t.id).where(t.project_id == project_id, _claimable(now, lease)).limit(1)
        if conn.execute(probe).first() is not None:
            found.append(project_id)
    return found


def claim_threads(
    conn: Connection, project_id: str, *, limit: int, now: datetime, lease: timedelta
) -> list[ClaimedThread]:
    """Mark up to ``limit`` threads as claimed by this worker and return their text.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several workers claim side by side
    without waiting on each other or claiming the same thread; SQLite has one writer.
    """
    candidates = (
        select(t.id)
        .where(t.project_id == project_id, _claimable(now, lease))
        .order_by(t.first_message_time, t.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(conn.execute(candidates).scalars())
    if not ids:
        return []
    rows = conn.execute(
        update(semantic_threads)
        .where(t.project_id == project_id, t.id.in_(ids))
        .values(annotation_status=CLAIMED, annotation_claimed_at=now)
        .returning(
            t.id,
            t.question,
            t.answer,
            t.message_ids,
            t.annotation_attempts,
            t.verified_fields,
            # Stored with the thread and kept current by every feedback write
            # (store/threads.py), the same flags the query fields read.
            t.has_positive_feedback,
            t.has_negative_feedback,
        )
    ).all()
    message_ids = sorted({m for row in rows for m in row.message_ids})
    links = _links_by_message(conn, project_id, message_ids)
    claimed = []
    for row in rows:
        titles, urls = _cited(row.message_ids, links)
        claimed.append(
            ClaimedThread(
                project_id=project_id,
                id=row.id,
                question=row.question,
                answer=row.answer,
                link_titles=titles,
                link_urls=urls,
                has_positive_feedback=bool(row.has_positive_feedback),
                has_negative_feedback=bool(row.has_negative_feedback),
                claimed_at=now,
                attempts=row.annotation_attempts,
                verified_fields=list(row.verified_fields or []),
            )
        )
    return claimed


def save_annotation(
    conn: Connection, thread: ClaimedThread, values: dict[str, Any], *, source: str
) -> bool:
    """Store an analyzer's values (by column name), leaving verified fields alone.

    Nothing is written when the thread was re-derived since it was claimed (its
    conversation was logged again): it is pending again and will be annotated anew.
    """
    columns = {
        name: value
        for name, value in values.items()
        if name in _FIELDS and name not in thread.verified_fields
    }
    # The annotations are what the dashboard's question counts group by.
    with summaries.thread_kept_current(conn, thread.project_id, thread.id):
        result = conn.execute(
            update(semantic_threads)
            .where(_still_claimed(thread))
            .values(
                **columns,
                annotated_by=source,
                annotation_status=DONE,
                annotation_error=None,
                annotation_due_at=None,
                last_updated=datetime.now(UTC),
            )
        )
    return bool(result.rowcount)


def _still_claimed(thread: ClaimedThread) -> ColumnElement[bool]:
    """The thread, as long as the claim it was annotated under stands."""
    return and_(
        t.project_id == thread.project_id,
        t.id == thread.id,
        t.annotation_status == CLAIMED,
        t.annotation_claimed_at == thread.claimed_at,
    )


def record_failure(
    conn: Connection, thread: ClaimedThread, error: str, *, max_attempts: int, backoff: timedelta
) -> None:
    """Put the thread back with a delay that doubles each time, or give up on it."""
    attempts = thread.attempts + 1
    conn.execute(
        update(semantic_threads)
        .where(_still_claimed(thread))
        .values(
            annotation_status=FAILED if attempts >= max_attempts else PENDING,
            annotation_attempts=attempts,
            annotation_error=error[:2000],
            annotation_due_at=datetime.now(UTC) + backoff * (2 ** (attempts - 1)),
        )
    )


def requeue(
    conn: Connection, project_id: str, *, since: datetime | None = None, everything: bool = False
) -> int:
    """Queue a project's threads for annotation again (all, or those since a time).

    Without ``everything`` only threads not annotated yet, or failed, are queued.
    """
    conditions = [t.project_id == project_id]
    if since is not None:
        conditions.append(t.first_message_time >= since)
    if not everything:
        conditions.append(t.annotation_status.in_([PENDING, FAILED]))
    result = conn.execute(update(semantic_threads).where(*conditions).values(REQUEUED))
    return int(result.rowcount)


def status_counts(conn: Connection, project_id: str | None = None) -> dict[str, dict[str, int]]:
    """``{project_id: {status: count}}``."""
    query = select(t.project_id, t.annotation_status, func.count()).group_by(
        t.project_id, t.annotation_status
    )
    if project_id is not None:
        query = query.where(t.project_id == project_id)
    counts: dict[str, dict[str, int]] = {}
    for project, status, n in conn.execute(query):
        counts.setdefault(project, {})[status] = int(n)
    return counts


def load_context(conn: Connection, project_id: str) -> StoredContext:
    row = (
        conn.execute(
            select(annotation_contexts).where(annotation_contexts.c.project_id == project_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        return StoredContext([], [], None, 0)
    return StoredContext(
        glossary=list(row["glossary"] or []),
        learned_glossary=list(row["learned_glossary"] or []),
        category_model=row["category_model"],
        fitted_threads=int(row["fitted_threads"]),
    )


def save_context(conn: Connection, project_id: str, context: StoredContext) -> None:
    values = {
        "glossary": context.glossary,
        "learned_glossary": context.learned_glossary,
        "category_model": context.category_model,
        "fitted_threads": context.fitted_threads,
        "updated_at": datetime.now(UTC),
    }
    updated = conn.execute(
        update(annotation_contexts)
        .where(annotation_contexts.c.project_id == project_id)
        .values(**values)
    ).rowcount
    if not updated:
        conn.execute(insert(annotation_contexts).values(project_id=project_id, **values))


def thread_texts_for_fitting(
    conn: Connection, project_id: str, *, limit: int
) -> list[tuple[str, str, list[str], list[str]]]:
    """(question, answer, link titles, link urls) of up to ``limit`` recent threads."""
    rows = conn.execute(
        select(t.question, t.answer, t.message_ids)
        .where(t.project_id == project_id)
        .order_by(t.first_message_time.desc())
        .limit(limit)
    ).all()
    links = _links_by_message(conn, project_id, sorted({m for r in rows for m in r.message_ids}))
    return [(row.question, row.answer, *_cited(row.message_ids, links)) for row in rows]


def _links_by_message(
    conn: Connection, project_id: str, message_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    links: dict[str, list[dict[str, Any]]] = {}
    for chunk in in_chunks(message_ids):
        for message_id, message_links in conn.execute(
            select(messages.c.id, messages.c.links).where(
                messages.c.project_id == project_id, messages.c.id.in_(chunk)
            )
        ):
            links[message_id] = message_links or []
    return links


def _cited(
    message_ids: list[str], links: dict[str, list[dict[str, Any]]]
) -> tuple[list[str], list[str]]:
    """The titles and the URLs of the links a thread's messages cite."""
    cited = [link for m in message_ids for link in links.get(m, [])]
    titles = [str(link["title"]) for link in cited if link.get("title")]
    return titles, [str(link["url"]) for link in cited if link.get("url")]


def count_threads(conn: Connection, project_id: str) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(semantic_threads).where(t.project_id == project_id)
        ).scalar_one()
    )


def verify_fields(
    conn: Connection, project_id: str, thread_id: str, values: dict[str, Any]
) -> VerifiedFields:
    """Set fields a person checked (by column name); they are marked verified and never
    re-annotated."""
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise ValueError(f"not annotation fields: {unknown}")
    row = conn.execute(
        select(t.verified_fields).where(t.project_id == project_id, t.id == thread_id)
    ).first()
    if row is None:
        raise NotFound(f"no semantic thread with id {thread_id!r} in this project")
    verified = sorted({*(row.verified_fields or []), *values})
    with summaries.thread_kept_current(conn, project_id, thread_id):
        conn.execute(
            update(semantic_threads)
            .where(t.project_id == project_id, t.id == thread_id)
            .values(
                **values,
                verified_fields=verified,
                are_ai_annotations_verified=True,
                last_updated=datetime.now(UTC),
            )
        )
    stored = (
        conn.execute(
            select(*(t[column] for column in ANNOTATION_FIELDS), t.annotated_by).where(
                t.project_id == project_id, t.id == thread_id
            )
        )
        .mappings()
        .one()
    )
    return VerifiedFields(
        id=thread_id,
        values={column: stored[column] for column in ANNOTATION_FIELDS},
        verified_fields=verified,
        annotated_by=stored["annotated_by"],
    )
