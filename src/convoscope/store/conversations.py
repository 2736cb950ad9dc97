"""Conversations and their messages: upsert, read, list, delete.

Every function takes the connection first and the caller's scope second, so no query can
forget which project it is confined to.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    RowMapping,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from convoscope.errors import Conflict, ConversationNotFound, InvalidInput
from convoscope.store import summaries
from convoscope.store.ids import new_id
from convoscope.store.mapping import RowMapper
from convoscope.store.prepared import Prepared, in_chunks, in_list, in_params, pipelined
from convoscope.store.privacy import redact_conversation
from convoscope.store.records import (
    KEPT_WHEN_OMITTED,
    Conversation,
    ConversationIn,
    Message,
    MessageIn,
    Scope,
)
from convoscope.store.tables import conversations, events, feedback, messages
from convoscope.store.threads import USER_ROLES, delete_threads, derive_threads, update_threads

# The write path's statements are built once and run on the driver's cursor: building a
# Core statement costs several times more than running it on SQLite (~150 µs vs ~35 µs),
# and Connection.execute's bookkeeping as much again (see store/prepared.py).
# FOR UPDATE (PostgreSQL; SQLite has one writer): a second server process re-logging
# the same conversation waits here for the first to commit, then reads its messages,
# instead of replacing messages it never saw.
_FIND_CONVERSATION = Prepared(
    select(
        conversations.c.type,
        conversations.c.created_at,
        conversations.c.organization_id,
        conversations.c.integration_id,
        conversations.c.user_message_count,
        conversations.c.message_digests,
        *(conversations.c[column] for column in KEPT_WHEN_OMITTED),
    )
    .where(
        conversations.c.project_id == bindparam("project_id"),
        conversations.c.id == bindparam("conversation_id"),
    )
    .with_for_update()
)
# The id and creation time of each stored message, in order: what a message sent without
# them keeps, and what the answer shows.
_STORED_MESSAGES = Prepared(
    select(messages.c.id, messages.c.created_at)
    .where(
        messages.c.project_id == bindparam("project_id"),
        messages.c.conversation_id == bindparam("conversation_id"),
    )
    .order_by(messages.c.position)
)
# The stored messages from a position on, whole: those of the threads derived again.
_STORED_FROM = Prepared(
    select(messages)
    .where(
        messages.c.project_id == bindparam("project_id"),
        messages.c.conversation_id == bindparam("conversation_id"),
        messages.c.position >= bindparam("position"),
    )
    .order_by(messages.c.position)
)
# The messages from a position on: those a re-log changed, dropped or moved.
_DELETE_MESSAGES_FROM = Prepared(
    delete(messages).where(
        messages.c.project_id == bindparam("project_id"),
        messages.c.conversation_id == bindparam("conversation_id"),
        messages.c.position >= bindparam("position"),
    )
)
_INSERT_CONVERSATION = Prepared(insert(conversations))
_INSERT_MESSAGES = Prepared(insert(messages))
# Where-clause parameters of an UPDATE must not share a column's name.
_UPDATE_CONVERSATION = Prepared(
    update(conversations).where(
        conversations.c.project_id == bindparam("where_project_id"),
        conversations.c.id == bindparam("where_id"),
    )
)
# Message ids are probed in chunks (in_chunks): a statement per chunk length, each
# compiled once and kept (at most 500 lengths: a smaller cache evicted lengths in use, as
# conversations grow a turn at a time, and built them again on the write path).


@cache
def message_owners(count: int) -> Prepared:
    # No `conversation_id != …` here: with it, PostgreSQL's generic plan for the statement
    # scanned the project's whole index (8 ms at 12,000 messages, growing with the
    # project) instead of probing the primary key; the comparison is done in Python.
    return Prepared(
        select(messages.c.id, messages.c.conversation_id).where(
            messages.c.project_id == bindparam("project_id"),
            in_list(messages.c.id, "message_id", count),
        )
    )


@cache
def _delete_feedback_of(count: int) -> Prepared:
    return Prepared(
        delete(feedback).where(
            feedback.c.project_id == bindparam("project_id"),
            feedback.c.conversation_id == bindparam("conversation_id"),
            in_list(feedback.c.message_id, "message_id", count),
        )
    )


@cache
def _adopt_events(count: int) -> Prepared:
    return Prepared(
        update(events)
        .where(
            events.c.project_id == bindparam("where_project_id"),
            in_list(events.c.message_id, "message_id", count),
            events.c.conversation_id.is_(None),
        )
        .values(conversation_id=bindparam("where_conversation_id"))
    )


def upsert_conversation(conn: Connection, scope: Scope, data: ConversationIn) -> Conversation:
    """Create the conversation, or replace the stored one's fields and messages.

    The body always carries the complete history, so the stored messages are replaced by
    those sent. A message sent without an id keeps the id of the stored message at the
    same position, so feedback and events that point at earlier messages stay valid.
    A top-level field the request omitted (data.omitted) keeps its stored value.
    The project's redaction applies before anything is written.

    Only what changed is written: a chat app logs the whole history after every answer,
    and rewriting it each time made a turn's cost grow with the conversation (n²/2
    message rows over its life). The stored messages up to the first one that differs
    are left as they are, the rest are replaced, and only the threads from there on are
    derived again (``store/threads.py``); a history that differs from the start is
    replaced whole.
    """
    data = redact_conversation(conn, scope.project_id, data)
    now = datetime.now(UTC)
    conversation_id = data.id or new_id("conv")
    existing = _find_stored(conn, scope, conversation_id, data)
    # (id, created_at) of each stored message, in order.
    stored_messages: list[tuple[Any, ...]] = []
    if existing is not None:
        stored_messages = _STORED_MESSAGES.all(
            conn, {"project_id": scope.project_id, "conversation_id": conversation_id}
        )
    resolved, with_log = _resolve_messages(data, conversation_id, stored_messages, now)
    digests, unchanged = _compare_sent(
        existing[_DIGESTS] if existing is not None else None,
        data.messages,
        stored_messages,
        resolved,
    )
    change = _Change(
        conversation=_conversation_record(scope, conversation_id, data, existing, resolved, now),
        existing=existing,
        stored_ids=[m[0] for m in stored_messages],
        unchanged=unchanged,
        with_log=with_log,
        digests=digests,
        logged_at=now,
        # Generated ids are new, kept ids are this conversation's, and so are the ids of
        # the unchanged messages: only the other ids the client chose can clash with
        # another conversation or have events waiting for them.
        client_ids=[m.id for m in data.messages[unchanged:] if m.id is not None],
    )
    if change.client_ids:
        _refuse_foreign_message_ids(conn, scope, conversation_id, change.client_ids)
    _write(conn, scope, change)
    return change.conversation


@dataclass(slots=True)
class _Change:
    """What an upsert writes: the conversation as it is to be stored, against what was."""

    conversation: Conversation
    # Its row of _FIND_CONVERSATION, None when it is new.
    existing: tuple[Any, ...] | None
    # The ids of the messages stored until now, in order.
    stored_ids: list[str]
    # How many leading messages are stored as they would be written now.
    unchanged: int
    # Whether each message follows the conversation's log time (sent without updatedAt).
    with_log: list[bool]
    # The messages' digests to store (``message_digests``).
    digests: list[str | None]
    logged_at: datetime
    client_ids: list[str]

    @property
    def dropped(self) -> list[str]:
        """The stored messages the new history no longer has."""
        if self.unchanged == len(self.stored_ids):  # it starts with every one of them
            return []
        kept = {m.id for m in self.conversation.messages}
        return [m for m in self.stored_ids if m not in kept]


def _find_stored(
    conn: Connection, scope: Scope, conversation_id: str, data: ConversationIn
) -> tuple[Any, ...] | None:
    """The stored conversation's row of _FIND_CONVERSATION; a change of type is refused."""
    if data.id is None:  # a generated id cannot be stored yet
        return None
    existing = _FIND_CONVERSATION.first(
        conn, {"project_id": scope.project_id, "conversation_id": conversation_id}
    )
    if existing is not None and existing[0] != data.type:
        raise Conflict(
            f"conversation {conversation_id!r} is of type {existing[0]!r}; "
            f"its type cannot change to {data.type!r}",
            field="type",
        )
    return existing


def _resolve_messages(
    data: ConversationIn,
    conversation_id: str,
    stored_messages: Sequence[tuple[Any, ...]],
    now: datetime,
) -> tuple[list[Message], list[bool]]:
    """The messages as they are to be stored, with an id and times each, and whether each
    follows the conversation's log time; an id sent twice is refused."""
    kept_created = dict(stored_messages)
    stored_count = len(stored_messages)
    resolved: list[Message] = []
    with_log: list[bool] = []
    seen: set[str] = set()
    # Run for every message of the history at every turn: no call per message but the
    # record's, built from positional arguments (a third of the time of keywords; their
    # order is Message's fields').
    for position, message in enumerate(data.messages):
        message_id = message.id
        if message_id is None:
            taken = position < stored_count and stored_messages[position][0]
            message_id = taken if taken and taken not in seen else new_id("msg")
        if message_id in seen:
            raise InvalidInput(
                f"message id {message_id!r} appears twice in this conversation",
                field=f"messages[{position}].id",
            )
        seen.add(message_id)
        updated = message.updated_at
        with_log.append(updated is None)
        resolved.append(
            Message(
                message_id,
                conversation_id,
                message.role,
                message.content,
                message.created_at or kept_created.get(message_id) or now,
                updated or now,
                message.name,
                message.tool_calls,
                message.links,
                message.properties,
                message.user_properties,
                message.external_id,
                message.external_url,
            )
        )
    return resolved, with_log


def _conversation_record(
    scope: Scope,
    conversation_id: str,
    data: ConversationIn,
    existing: tuple[Any, ...] | None,
    resolved: list[Message],
    now: datetime,
) -> Conversation:
    """The conversation as it is to be stored: the fields sent, and the stored values of
    those the request omitted."""
    conversation = Conversation(
        id=conversation_id,
        type=data.type,
        project_id=scope.project_id,
        organization_id=scope.organization_id,
        integration_id=data.integration_id or scope.integration_id,
        created_at=data.created_at or (existing[1] if existing is not None else now),
        updated_at=data.updated_at or now,
        external_id=data.external_id,
        external_url=data.external_url,
        support_ticket_conversation_id=data.support_ticket_conversation_id,
        visibility=data.visibility,
        properties=data.properties,
        user_properties=data.user_properties,
        tags=data.tags,
        messages=resolved,
    )
    if existing is None:
        return conversation
    kept = {
        column: existing[_KEPT + index]
        for index, column in enumerate(KEPT_WHEN_OMITTED)
        if column in data.omitted
    }
    return replace(conversation, **kept)


def _write(conn: Connection, scope: Scope, change: _Change) -> None:
    """Write the change: the conversation's row, its messages from the first changed one
    on, and the threads those messages form; the dashboard's counts follow."""
    conversation, existing, unchanged = change.conversation, change.existing, change.unchanged
    stored = conversation.messages
    conversation_id = conversation.id
    # Feedback names one message: a message the new history drops takes its feedback
    # with it, as deleting the conversation would (kept, it broke every feedback list).
    dropped = change.dropped
    # The stored messages of the threads to derive again, read before they are replaced:
    # those from the last question before the first changed message on (one or two).
    tail: dict[int, Message] = {}
    since = next(
        (i for i in range(unchanged - 1, -1, -1) if stored[i].role in USER_ROLES), unchanged
    )
    questions_before = sum(1 for m in stored[:since] if m.role in USER_ROLES)
    if since < len(change.stored_ids) and _threads_change_stored(
        change, questions_before + (1 if since < unchanged else 0)
    ):
        tail = _stored_from(conn, scope, conversation_id, since)
    shared_changed = existing is not None and _shared_changed(existing, conversation)
    # The threads before the last question before the first change stay as they are,
    # unless the conversation's fields they copy changed.
    threads_from = 0 if shared_changed else questions_before
    # The dashboard's counts change with the conversation (store/summaries.py); its
    # feedback only when a dropped message takes some with it (a new one has none).
    counted = summaries.EVERYTHING if dropped else (summaries.CONVERSATIONS, summaries.THREADS)
    with (
        summaries.kept_current(
            conn,
            scope.project_id,
            [conversation_id],
            parts=counted,
            new=existing is None,
            threads_from=threads_from,
        ),
        # The writes need no answer until the end: one round trip on PostgreSQL.
        pipelined(conn),
    ):
        row = conversation_row(conversation, logged_at=change.logged_at, digests=change.digests)
        if existing is None:
            _INSERT_CONVERSATION.execute(conn, row)
        else:
            _replace_stored(conn, scope, change, row, dropped)
        if len(stored) > unchanged:
            _INSERT_MESSAGES.insert_rows(
                conn,
                [
                    message_row(
                        scope.project_id, position, stored[position], change.with_log[position]
                    )
                    for position in range(unchanged, len(stored))
                ],
            )
            if change.client_ids:
                _adopt_early_events(conn, scope, conversation_id, change.client_ids)
        if existing is None:
            derive_threads(conn, scope, conversation, replacing=False)
        else:
            update_threads(
                conn,
                scope,
                conversation,
                unchanged=unchanged,
                stored_threads=existing[_THREADS],
                stored_tail=tail,
                shared_changed=shared_changed,
                since=since,
                threads_before=questions_before,
            )


def _threads_change_stored(change: _Change, questions: int) -> bool:
    """Whether the threads derived again include stored messages, whose stored form
    ``update_threads`` compares with the new one; ``questions`` is how many user messages
    the unchanged messages hold.

    Not when the history sent starts with every stored message and goes on, if at all,
    with a question: each stored thread then ends where it did and stays as it is, and
    only new ones are derived. That is a chat app's every turn, and the stored tail is
    then not read."""
    messages, unchanged = change.conversation.messages, change.unchanged
    return not (
        unchanged == len(change.stored_ids)
        and (unchanged == len(messages) or messages[unchanged].role in USER_ROLES)
        and change.existing is not None
        and change.existing[_THREADS] == questions
    )


def _replace_stored(
    conn: Connection, scope: Scope, change: _Change, row: dict[str, Any], dropped: list[str]
) -> None:
    """Over a stored conversation: its messages from the first changed one on deleted,
    the feedback of those it dropped with them, and its row updated."""
    conversation_id = change.conversation.id
    if change.unchanged < len(change.stored_ids):
        _DELETE_MESSAGES_FROM.execute(
            conn,
            {
                "project_id": scope.project_id,
                "conversation_id": conversation_id,
                "position": change.unchanged,
            },
        )
    for chunk in in_chunks(dropped):
        _delete_feedback_of(len(chunk)).execute(
            conn,
            {
                "project_id": scope.project_id,
                "conversation_id": conversation_id,
                **in_params("message_id", chunk),
            },
        )
    _UPDATE_CONVERSATION.execute(
        conn, {**row, "where_project_id": scope.project_id, "where_id": conversation_id}
    )


def _shared_changed(existing: tuple[Any, ...], conversation: Conversation) -> bool:
    """Whether the fields every thread copies from its conversation changed."""
    return not _same_values(
        (existing[2], existing[3], *existing[_KEPT : _KEPT + 2]),
        (
            conversation.organization_id,
            conversation.integration_id,
            conversation.properties,
            conversation.user_properties,
        ),
    )


# Positions in a row of _FIND_CONVERSATION: KEPT_WHEN_OMITTED's columns start at _KEPT,
# properties and user_properties first.
_THREADS, _DIGESTS, _KEPT = 4, 5, 6
assert KEPT_WHEN_OMITTED[:2] == ("properties", "user_properties")


def _encoded(message: MessageIn) -> bytes:
    """Everything the client sent about a message (after redaction), as bytes; raises
    where orjson cannot serialise a value (an integer past 64 bits)."""
    return orjson.dumps(
        (
            message.id,
            message.role,
            message.content,
            message.name,
            message.tool_calls,
            message.links,
            message.properties,
            message.user_properties,
            message.external_id,
            message.external_url,
            message.created_at,
            message.updated_at,
        )
    )


def message_digest(message: MessageIn) -> str | None:
    """A digest of everything the client sent about a message (after redaction).

    Stored on the conversation, one a message: finding the first message a re-log
    changed then reads one row, not every stored message (reading and comparing them
    cost more per turn than the turn's own writes, and grew with the conversation).
    None where orjson cannot serialise a value (an integer past 64 bits): never equal.
    """
    try:
        return _digest_of(_encoded(message))
    except (TypeError, orjson.JSONEncodeError):
        return None


def _digest_of(encoded: bytes) -> str:
    return hashlib.blake2b(encoded, digest_size=12).hexdigest()


# The last item of a stored ``message_digests`` that holds the history's digest, after
# one digest a message: the code before it reads the digests of the stored messages
# only (as many as there are stored messages), and a message's digest has no colon.
_HISTORY = "history:"


def message_digests(messages: Sequence[MessageIn]) -> list[str | None]:
    """What ``message_digests`` stores for messages sent as ``messages``: the digest of
    each (``message_digest``), then ``history:`` and one digest of them all together,
    which a re-log that sends them again, and more, matches with a single hash (see
    ``_compare_sent``). No history where a message cannot be serialised (its digest is
    None)."""
    try:
        encoded = [_encoded(m) for m in messages]
    except (TypeError, orjson.JSONEncodeError):
        return [message_digest(m) for m in messages]
    # SHA-256 for the whole history: over 18 KB, OpenSSL's (in the processor's SHA
    # instructions where it has them) took half the time of hashlib's BLAKE2b.
    history = hashlib.sha256(b"".join(encoded)).hexdigest()
    return [*(_digest_of(e) for e in encoded), _HISTORY + history]


def _compare_sent(
    stored: Sequence[str | None] | None,
    messages: Sequence[MessageIn],
    stored_rows: Sequence[tuple[Any, ...]],
    resolved: Sequence[Message],
) -> tuple[list[str | None], int]:
    """The digests to store for the messages sent, and how many leading messages were
    sent exactly as at the last log (and so are stored as they would be written now).

    ``stored`` is the conversation's ``message_digests``: one digest a message, and the
    history's last where it was stored (``message_digests``). A chat app sends the
    stored history again with a turn appended: one hash of the messages sent where the
    stored ones were, matched against the history's, then shows them all unchanged. A
    digest a message costs a hashlib call each (about 1 µs for a message of a few
    hundred characters, more than the rest of the turn's work on it), so only the new
    messages are digested one by one; a history that differs from the stored one is
    digested message by message, to find where.
    """
    stored_each: Sequence[str | None] = stored or []
    stored_history = None
    last = stored_each[-1] if stored_each else None
    if last is not None and last.startswith(_HISTORY):
        stored_each, stored_history = stored_each[:-1], last.removeprefix(_HISTORY)
    known = len(stored_each)
    if stored_history is not None and known == len(stored_rows) and known <= len(messages):
        try:
            encoded = [_encoded(m) for m in messages]
        except (TypeError, orjson.JSONEncodeError):
            encoded = None
        if encoded is not None:
            hasher = hashlib.sha256(b"".join(encoded[:known]))
            if hasher.hexdigest() == stored_history:
                hasher.update(b"".join(encoded[known:]))
                digests = [
                    *stored_each,
                    *(_digest_of(e) for e in encoded[known:]),
                    _HISTORY + hasher.hexdigest(),
                ]
                return digests, _same_ids(stored_rows, resolved, known)
    digests = message_digests(messages)
    return digests, _unchanged_prefix(stored_each, digests[: len(messages)], stored_rows, resolved)


def _same_ids(
    stored_rows: Sequence[tuple[Any, ...]], resolved: Sequence[Message], count: int
) -> int:
    """How many of the first ``count`` messages, sent as stored, resolved to the stored
    message's id (one sent later in the history may have taken it)."""
    for position in range(count):
        if resolved[position].id != stored_rows[position][0]:
            return position
    return count


def _unchanged_prefix(
    stored_digests: Sequence[str | None],
    digests: Sequence[str | None],
    stored_rows: Sequence[tuple[Any, ...]],
    resolved: Sequence[Message],
) -> int:
    """How many leading messages were sent exactly as at the last log, and so are
    stored as they would be written now."""
    count = min(len(stored_digests), len(digests), len(stored_rows))
    for position in range(count):
        digest = digests[position]
        if digest is None or digest != stored_digests[position]:
            return position
        # Sent the same, but resolved to another id (one sent later in the history
        # took it): not the stored message.
        if resolved[position].id != stored_rows[position][0]:
            return position
    return count


_SCALARS = (str, int, float, bool, type(None), datetime)


def _same_values(stored: Sequence[Any], sent: Sequence[Any]) -> bool:
    """Equal as stored values: ``1`` is not ``true`` and ``1`` is not ``1.0`` in JSON,
    though they are equal in Python; objects are compared without their key order,
    which PostgreSQL's jsonb does not keep."""
    for a, b in zip(stored, sent, strict=True):
        if type(a) is not type(b):
            return False
        if isinstance(a, _SCALARS):
            if a != b:
                return False
        elif a != b or _canonical(a) != _canonical(b):
            return False
    return True


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _stored_from(
    conn: Connection, scope: Scope, conversation_id: str, position: int
) -> dict[int, Message]:
    """The stored messages from ``position`` on, by position."""
    found = {}
    for row in _STORED_FROM.all(
        conn,
        {"project_id": scope.project_id, "conversation_id": conversation_id, "position": position},
    ):
        values = dict(zip(_MESSAGE_COLUMNS, row, strict=True))
        found[values["position"]] = _message_from_row(values, None)
    return found


_MESSAGE_COLUMNS = tuple(column.name for column in messages.columns)


def _adopt_early_events(
    conn: Connection, scope: Scope, conversation_id: str, message_ids: list[str]
) -> None:
    """Message events that arrived before their conversation learn which one it is."""
    for chunk in in_chunks(message_ids):
        _adopt_events(len(chunk)).execute(
            conn,
            {
                "where_project_id": scope.project_id,
                "where_conversation_id": conversation_id,
                **in_params("message_id", chunk),
            },
        )


def get_conversation(conn: Connection, scope: Scope, conversation_id: str) -> Conversation:
    row = (
        conn.execute(
            select(conversations).where(
                conversations.c.project_id == scope.project_id,
                conversations.c.id == conversation_id,
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise ConversationNotFound(conversation_id)
    return _with_messages(conn, scope, [row])[0]


def get_conversation_by_external_id(
    conn: Connection, scope: Scope, external_id: str
) -> Conversation:
    """The most recently updated conversation with that external id."""
    row = (
        conn.execute(
            select(conversations)
            .where(
                conversations.c.project_id == scope.project_id,
                conversations.c.external_id == external_id,
            )
            .order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise ConversationNotFound(external_id, by="external id")
    return _with_messages(conn, scope, [row])[0]


def list_conversations(
    conn: Connection, scope: Scope, *, limit: int, offset: int
) -> tuple[int, list[Conversation]]:
    """One page, newest first, and the project's total."""
    total = conn.execute(
        select(func.count())
        .select_from(conversations)
        .where(conversations.c.project_id == scope.project_id)
    ).scalar_one()
    rows = list(
        conn.execute(
            select(conversations)
            .where(conversations.c.project_id == scope.project_id)
            .order_by(conversations.c.created_at.desc(), conversations.c.id.desc())
            .limit(limit)
            .offset(offset)
        ).mappings()
    )
    return total, _with_messages(conn, scope, rows)


def delete_conversation(conn: Connection, scope: Scope, conversation_id: str) -> None:
    """Delete the conversation, its messages, their feedback and its events, together."""
    with summaries.kept_current(conn, scope.project_id, [conversation_id]):
        _delete_conversation(conn, scope, conversation_id)


def _delete_conversation(conn: Connection, scope: Scope, conversation_id: str) -> None:
    message_ids = select(messages.c.id).where(
        messages.c.project_id == scope.project_id,
        messages.c.conversation_id == conversation_id,
    )
    conn.execute(
        delete(events).where(
            events.c.project_id == scope.project_id,
            or_(
                events.c.conversation_id == conversation_id,
                events.c.message_id.in_(message_ids.scalar_subquery()),
            ),
        )
    )
    conn.execute(
        delete(feedback).where(
            feedback.c.project_id == scope.project_id,
            feedback.c.conversation_id == conversation_id,
        )
    )
    conn.execute(
        delete(messages).where(
            messages.c.project_id == scope.project_id,
            messages.c.conversation_id == conversation_id,
        )
    )
    delete_threads(conn, scope, conversation_id)
    deleted = conn.execute(
        delete(conversations).where(
            conversations.c.project_id == scope.project_id,
            conversations.c.id == conversation_id,
        )
    ).rowcount
    if not deleted:
        raise ConversationNotFound(conversation_id)


def get_conversations(
    conn: Connection, scope: Scope, conversation_ids: Iterable[str]
) -> dict[str, Conversation]:
    """Several conversations with their messages, by id; unknown ids are left out."""
    ids = list(dict.fromkeys(conversation_ids))
    rows: list[RowMapping] = []
    for chunk in in_chunks(ids):
        rows.extend(
            conn.execute(
                select(conversations).where(
                    conversations.c.project_id == scope.project_id,
                    conversations.c.id.in_(chunk),
                )
            ).mappings()
        )
    return {c.id: c for c in _with_messages(conn, scope, rows)}


def _refuse_foreign_message_ids(
    conn: Connection, scope: Scope, conversation_id: str, message_ids: Iterable[str]
) -> None:
    """Message ids are unique in a project: feedback names a message by id alone."""
    for chunk in in_chunks(list(message_ids)):
        owners = message_owners(len(chunk)).all(
            conn, {"project_id": scope.project_id, **in_params("message_id", chunk)}
        )
        for message_id, owner in owners:
            if owner != conversation_id:
                raise Conflict(
                    f"message id {message_id!r} already belongs to conversation "
                    f"{owner!r}; message ids are unique within a project",
                    field="messages",
                )


def _with_messages(
    conn: Connection, scope: Scope, rows: Sequence[RowMapping]
) -> list[Conversation]:
    if not rows:
        return []
    by_conversation: dict[str, list[Message]] = defaultdict(list)
    ids = [row["id"] for row in rows]
    logged = {row["id"]: row["logged_at"] for row in rows}
    for chunk in in_chunks(ids):
        for m in conn.execute(
            select(messages)
            .where(
                messages.c.project_id == scope.project_id,
                messages.c.conversation_id.in_(chunk),
            )
            .order_by(messages.c.conversation_id, messages.c.position)
        ).mappings():
            conversation_id = m["conversation_id"]
            by_conversation[conversation_id].append(_message_from_row(m, logged[conversation_id]))
    return [_conversation_from_row(row, by_conversation[row["id"]]) for row in rows]


# Rows and records map by name (store/mapping.py); what a record does not hold is named.
_CONVERSATIONS = RowMapper(
    Conversation,
    conversations,
    supplied=(
        "logged_at",
        "message_digests",
        "first_message_time",
        "last_message_time",
        "message_count",
        "user_message_count",
    ),
    unstored=("messages",),
)
_MESSAGES = RowMapper(Message, messages, supplied=("project_id", "position", "updated_with_log"))


def conversation_row(
    c: Conversation,
    *,
    logged_at: datetime | None = None,
    digests: list[str | None] | None = None,
) -> dict[str, Any]:
    """The row of ``c``; ``logged_at`` is the time its messages sent without updatedAt
    read as theirs (None: each message's own updated_at is what it reads), ``digests``
    those of the messages as sent (see ``message_digests``)."""
    times = [m.created_at for m in c.messages] or [c.created_at]
    return _CONVERSATIONS.row(
        c,
        logged_at=logged_at,
        message_digests=digests,
        first_message_time=min(times),
        last_message_time=max(times),
        message_count=len(c.messages),
        user_message_count=sum(1 for m in c.messages if m.role in USER_ROLES),
    )


def message_row(
    project_id: str, position: int, m: Message, with_log: bool = False
) -> dict[str, Any]:
    """The row of ``m``; ``with_log``: its updatedAt is its conversation's logged_at."""
    return _MESSAGES.row(m, project_id=project_id, position=position, updated_with_log=with_log)


def _message_from_row(row: Mapping[str, Any] | RowMapping, logged_at: datetime | None) -> Message:
    # Sent without updatedAt: updated when the conversation was last logged.
    updated = logged_at if row["updated_with_log"] and logged_at else row["updated_at"]
    return _MESSAGES.record_from(row, updated_at=updated)


def _conversation_from_row(row: RowMapping, stored: list[Message]) -> Conversation:
    return _CONVERSATIONS.record_from(row, messages=stored)
