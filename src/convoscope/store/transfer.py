"""Many conversations at a time, for ``convoscope import`` and ``convoscope export``.

The write side is what ``upsert_conversation`` does for a conversation not stored yet
(redaction, message ids unique in the project, early events adopted, threads derived),
done for a whole batch with one statement per table: a statement per conversation cost
more than the rows themselves (bench/import.py). Conversations already stored go through
``upsert_conversation`` itself. The read side pages through a project by id (keyset), so
memory stays flat whatever the project's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, exists, select, update

from convoscope.errors import Conflict, ConvoscopeError, InvalidInput
from convoscope.store import summaries
from convoscope.store.conversations import (
    conversation_row,
    message_digests,
    message_owners,
    message_row,
)
from convoscope.store.feedback import FEEDBACK_ROWS
from convoscope.store.prepared import Prepared, in_chunks, in_params
from convoscope.store.privacy import redact_conversation
from convoscope.store.records import Conversation, ConversationIn, Event, Feedback, Message, Scope
from convoscope.store.tables import conversations, events, feedback, messages, semantic_threads
from convoscope.store.threads import ANNOTATION_COLUMNS, thread_rows

_INSERT_CONVERSATIONS = Prepared(conversations.insert())
_INSERT_MESSAGES = Prepared(messages.insert())
_INSERT_THREADS = Prepared(semantic_threads.insert())
_UNATTACHED_EVENT = Prepared(
    select(events.c.id)
    .where(
        events.c.project_id == bindparam("project_id"),
        events.c.conversation_id.is_(None),
        events.c.message_id.is_not(None),
    )
    .limit(1)
)
_RESTORE_THREAD = Prepared(
    update(semantic_threads)
    .where(
        semantic_threads.c.project_id == bindparam("where_project_id"),
        semantic_threads.c.id == bindparam("where_id"),
    )
    .values(annotation_due_at=None, annotation_claimed_at=None)
)


@dataclass(slots=True)
class ThreadState:
    """A thread's annotation bookkeeping and values (``ANNOTATION_COLUMNS``)."""

    id: str
    conversation_id: str
    status: str
    attempts: int
    error: str | None
    values: dict[str, Any]

    @property
    def is_untouched(self) -> bool:
        """As derivation leaves it: nothing an import needs to restore."""
        return (
            # A claim is the worker's, not the thread's: as good as pending elsewhere.
            self.status in ("pending", "claimed")
            and not self.attempts
            and self.error is None
            and all(v is None for v in self.values.values())
        )


def stored_types(conn: Connection, scope: Scope, ids: Sequence[str]) -> dict[str, str]:
    """The type of each of ``ids`` that is stored."""
    found: dict[str, str] = {}
    for chunk in in_chunks(ids):
        rows = conn.execute(
            select(conversations.c.id, conversations.c.type).where(
                conversations.c.project_id == scope.project_id,
                conversations.c.id.in_(chunk),
            )
        )
        found.update((row[0], row[1]) for row in rows)
    return found


def insert_conversations(
    conn: Connection, scope: Scope, items: Sequence[ConversationIn], *, probe: bool = True
) -> list[Conversation | ConvoscopeError]:
    """Store conversations none of which is stored yet; what each became, or why not.

    Every item carries its id and each of its messages' ids. An item refused (a message
    id twice, or already another conversation's) is written not at all; the others are.
    ``probe=False`` skips looking for the message ids among those stored: one already
    stored then fails the whole insert on the primary key (an IntegrityError), for a
    caller that expects no clash and retries item by item when one comes (the probe
    cost a tenth of an import's time).
    """
    now = datetime.now(UTC)
    results: list[Conversation | ConvoscopeError] = []
    owner: dict[str, str] = {}
    # Whether each message follows its conversation's log time, as upsert_conversation
    # records it: those sent without updatedAt.
    with_log = {data.id: [m.updated_at is None for m in data.messages] for data in items}
    # And the digest of each message as sent, with which a later re-log finds what changed.
    digests: dict[str | None, list[str | None]] = {}
    for data in items:
        redacted = redact_conversation(conn, scope.project_id, data)
        digests[data.id] = message_digests(redacted.messages)
        result = _build(redacted, scope, now)
        if isinstance(result, Conversation):
            clash = next((m.id for m in result.messages if m.id in owner), None)
            if clash is not None:
                result = _taken(clash, owner[clash])
            else:
                owner.update((m.id, result.id) for m in result.messages)
        results.append(result)
    if probe and owner:
        position = {r.id: i for i, r in enumerate(results) if isinstance(r, Conversation)}
        for message_id, taken_by in _owners(conn, scope, list(owner)).items():
            index = position[owner[message_id]]
            if isinstance(results[index], Conversation):  # not refused for another id yet
                results[index] = _taken(message_id, taken_by)
    stored = [r for r in results if isinstance(r, Conversation)]
    if stored:
        _insert(conn, scope, stored, with_log, digests, now)
    return results


def _insert(
    conn: Connection,
    scope: Scope,
    stored: list[Conversation],
    with_log: dict[str | None, list[bool]],
    digests: dict[str | None, list[str | None]],
    now: datetime,
) -> None:
    conversation_rows = [conversation_row(c, logged_at=now, digests=digests[c.id]) for c in stored]
    _insert_present(conn, _INSERT_CONVERSATIONS, conversation_rows)
    _insert_present(
        conn,
        _INSERT_MESSAGES,
        [
            message_row(scope.project_id, position, m, follows)
            for c in stored
            for position, (m, follows) in enumerate(zip(c.messages, with_log[c.id], strict=True))
        ],
    )
    threads = [row for c in stored for row in thread_rows(scope, c, now=now)]
    _insert_present(conn, _INSERT_THREADS, threads)
    if _UNATTACHED_EVENT.first(conn, {"project_id": scope.project_id}) is not None:
        _adopt_events(conn, scope, stored)
    # The dashboard's counts of them (store/summaries.py), from the rows just written.
    summaries.add_inserted(conn, scope.project_id, conversation_rows, threads)


def _insert_present(conn: Connection, statement: Prepared, rows: list[dict[str, Any]]) -> None:
    """Insert rows with only the columns they hold a value for, rows alike together.

    A new thread's seventeen annotation columns are all NULL, as are most of a message's
    optional fields: leaving them out of the statement saved converting each (a third
    of the import's time per conversation went to converting parameters).
    None of these columns has a default, so a column left out is NULL all the same.
    """
    alike: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        present = tuple([key for key, value in row.items() if value is not None])
        alike.setdefault(present, []).append(row)
    for columns, group in alike.items():
        statement.insert_many(conn, group, columns=columns)


def restore_threads(conn: Connection, scope: Scope, states: Iterable[ThreadState]) -> None:
    """Give derived threads the annotations and status they had where they came from."""
    states = list(states)
    rows = [
        {
            **s.values,
            "annotation_status": s.status,
            "annotation_attempts": s.attempts,
            "annotation_error": s.error,
            "where_project_id": scope.project_id,
            "where_id": s.id,
        }
        for s in states
    ]
    if rows:
        # Annotations are what the dashboard's question counts group by.
        touched = [s.conversation_id for s in states]
        with summaries.kept_current(conn, scope.project_id, touched, parts=(summaries.THREADS,)):
            _RESTORE_THREAD.executemany(conn, rows)


def conversation_id_pages(conn: Connection, scope: Scope, *, page_size: int) -> Iterator[list[str]]:
    """The project's conversation ids in order, a page at a time (keyset, not OFFSET)."""
    after: str | None = None
    while True:
        query = select(conversations.c.id).where(conversations.c.project_id == scope.project_id)
        if after is not None:
            query = query.where(conversations.c.id > after)
        page = list(conn.execute(query.order_by(conversations.c.id).limit(page_size)).scalars())
        if not page:
            return
        yield page
        after = page[-1]


def feedback_of(
    conn: Connection, scope: Scope, conversation_ids: Sequence[str]
) -> dict[str, list[Feedback]]:
    """Each conversation's feedback, in id order."""
    found: dict[str, list[Feedback]] = defaultdict(list)
    for chunk in in_chunks(conversation_ids):
        for row in conn.execute(
            select(feedback)
            .where(feedback.c.project_id == scope.project_id, feedback.c.conversation_id.in_(chunk))
            .order_by(feedback.c.id)
        ).mappings():
            found[row["conversation_id"]].append(FEEDBACK_ROWS.record_from(row))
    return found


def feedback_by_id(conn: Connection, scope: Scope, ids: Sequence[str]) -> dict[str, Feedback]:
    found: dict[str, Feedback] = {}
    for chunk in in_chunks(ids):
        for row in conn.execute(
            select(feedback).where(
                feedback.c.project_id == scope.project_id, feedback.c.id.in_(chunk)
            )
        ).mappings():
            found[row["id"]] = FEEDBACK_ROWS.record_from(row)
    return found


def events_of(
    conn: Connection, scope: Scope, conversation_ids: Sequence[str]
) -> dict[str, list[Event]]:
    """Each conversation's events, in id order."""
    found: dict[str, list[Event]] = defaultdict(list)
    for chunk in in_chunks(conversation_ids):
        for row in conn.execute(
            select(*_EVENT_COLUMNS)
            .where(events.c.project_id == scope.project_id, events.c.conversation_id.in_(chunk))
            .order_by(events.c.id)
        ).mappings():
            found[row["conversation_id"]].append(_event_from_row(row))
    return found


def events_by_id(conn: Connection, scope: Scope, ids: Sequence[str]) -> dict[str, Event]:
    found: dict[str, Event] = {}
    for chunk in in_chunks(ids):
        for row in conn.execute(
            select(*_EVENT_COLUMNS).where(
                events.c.project_id == scope.project_id, events.c.id.in_(chunk)
            )
        ).mappings():
            found[row["id"]] = _event_from_row(row)
    return found


def loose_event_pages(conn: Connection, scope: Scope, *, page_size: int) -> Iterator[list[Event]]:
    """Events of no stored conversation (searches, and those of deleted or unlogged
    conversations), in id order, a page at a time."""
    stored = exists().where(
        conversations.c.project_id == events.c.project_id,
        conversations.c.id == events.c.conversation_id,
    )
    after: str | None = None
    while True:
        query = select(*_EVENT_COLUMNS).where(events.c.project_id == scope.project_id, ~stored)
        if after is not None:
            query = query.where(events.c.id > after)
        page = [
            _event_from_row(row)
            for row in conn.execute(query.order_by(events.c.id).limit(page_size)).mappings()
        ]
        if not page:
            return
        yield page
        after = page[-1].id


def thread_states(
    conn: Connection, scope: Scope, conversation_ids: Sequence[str]
) -> dict[str, list[ThreadState]]:
    """Each conversation's threads' annotation state, in thread order."""
    t = semantic_threads.c
    found: dict[str, list[ThreadState]] = defaultdict(list)
    for chunk in in_chunks(conversation_ids):
        for row in conn.execute(
            select(
                t.id,
                t.conversation_id,
                t.annotation_status,
                t.annotation_attempts,
                t.annotation_error,
                *(t[name] for name in ANNOTATION_COLUMNS),
            )
            .where(t.project_id == scope.project_id, t.conversation_id.in_(chunk))
            .order_by(t.conversation_id, t.position)
        ).mappings():
            found[row["conversation_id"]].append(
                ThreadState(
                    id=row["id"],
                    conversation_id=row["conversation_id"],
                    status=row["annotation_status"],
                    attempts=row["annotation_attempts"],
                    error=row["annotation_error"],
                    values={name: row[name] for name in ANNOTATION_COLUMNS},
                )
            )
    return found


_EVENT_COLUMNS = (
    events.c.id,
    events.c.entity_type,
    events.c.type,
    events.c.project_id,
    events.c.created_at,
    events.c.integration_id,
    events.c.message_id,
    events.c.conversation_id,
    events.c.search_query,
    events.c.properties,
    events.c.user_properties,
)


def _event_from_row(row: RowMapping) -> Event:
    return Event(**{column.name: row[column.name] for column in _EVENT_COLUMNS})


def _build(data: ConversationIn, scope: Scope, now: datetime) -> Conversation | ConvoscopeError:
    """The conversation ``upsert_conversation`` would store for ``data``, new."""
    assert data.id is not None
    seen: set[str] = set()
    stored: list[Message] = []
    for position, m in enumerate(data.messages):
        assert m.id is not None
        if m.id in seen:
            return InvalidInput(
                f"message id {m.id!r} appears twice in this conversation",
                field=f"messages[{position}].id",
            )
        seen.add(m.id)
        stored.append(
            Message(
                id=m.id,
                conversation_id=data.id,
                role=m.role,
                content=m.content,
                name=m.name,
                tool_calls=m.tool_calls,
                links=m.links,
                properties=m.properties,
                user_properties=m.user_properties,
                external_id=m.external_id,
                external_url=m.external_url,
                created_at=m.created_at or now,
                updated_at=m.updated_at or now,
            )
        )
    return Conversation(
        id=data.id,
        type=data.type,
        project_id=scope.project_id,
        organization_id=scope.organization_id,
        integration_id=data.integration_id or scope.integration_id,
        created_at=data.created_at or now,
        updated_at=data.updated_at or now,
        external_id=data.external_id,
        external_url=data.external_url,
        support_ticket_conversation_id=data.support_ticket_conversation_id,
        visibility=data.visibility,
        properties=data.properties,
        user_properties=data.user_properties,
        tags=data.tags,
        messages=stored,
    )


def _taken(message_id: str, owner: str) -> Conflict:
    return Conflict(
        f"message id {message_id!r} already belongs to conversation {owner!r}; "
        "message ids are unique within a project",
        field="messages",
    )


def _owners(conn: Connection, scope: Scope, message_ids: list[str]) -> dict[str, str]:
    """The conversation already holding each of ``message_ids`` that is stored."""
    found: dict[str, str] = {}
    for chunk in in_chunks(message_ids):
        found.update(
            message_owners(len(chunk)).all(
                conn, {"project_id": scope.project_id, **in_params("message_id", chunk)}
            )
        )
    return found


def _adopt_events(conn: Connection, scope: Scope, stored: list[Conversation]) -> None:
    """Message events that arrived before their conversation learn which one it is."""
    owner = (
        select(messages.c.conversation_id)
        .where(messages.c.project_id == events.c.project_id, messages.c.id == events.c.message_id)
        .scalar_subquery()
    )
    for chunk in in_chunks([m.id for c in stored for m in c.messages]):
        conn.execute(
            update(events)
            .where(
                events.c.project_id == scope.project_id,
                events.c.conversation_id.is_(None),
                events.c.message_id.in_(chunk),
            )
            .values(conversation_id=owner)
        )
