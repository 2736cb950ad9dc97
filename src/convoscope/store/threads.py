"""Semantic threads: each question of a conversation with the answer that followed it.

Derived deterministically (API.md §4.10) in the same transaction as every upsert or delete
of the conversation, so a thread never outlives or lags its conversation:

- a message from the user (role ``user``, or ``customer`` in support tickets) starts a
  thread; the thread runs until the next such message. Messages before the first user
  message (a system prompt) belong to no thread;
- ``question`` is the text of the user message (text parts joined by newlines) and
  ``answer`` the texts of the assistant or agent replies, joined by blank lines;
- a thread's id depends only on its conversation and its first message, so re-logging a
  conversation keeps the ids of the threads it already had;
- a re-log derives again only the threads from its first changed message on
  (``update_threads``): the others are not written at all. A thread derived again with
  the same question, answer and cited links keeps its annotations and annotation state,
  so the worker annotates each version of a thread once; one with the same question and
  answer keeps its annotations until the worker replaces them.

A thread's feedback flags (``has_positive_feedback``, ``has_negative_feedback``) are
stored on it and have one definition, ``feedback_flag``: set whenever the thread is
derived and whenever feedback on its messages is written or deleted. The query fields
``hasPositiveFeedback``/``hasNegativeFeedback`` and the annotation worker read the
columns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, bindparam, delete, exists, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from convoscope.store.prepared import Prepared
from convoscope.store.records import Conversation, Message, Scope
from convoscope.store.tables import feedback, messages, semantic_threads

USER_ROLES = frozenset({"user", "customer"})
# Roles whose text is not part of an answer: instructions, not replies.
_NOT_ANSWER_ROLES = USER_ROLES | {"system"}

# The fields an analyzer fills and a person may verify (``verified_fields`` names them).
ANNOTATION_FIELDS = (
    "is_on_topic",
    "is_clear",
    "is_documented",
    "is_feature_supported",
    "is_answer_confident",
    "gap_summary",
    "subject",
    "category",
    "languages",
    "first_party_entities",
    "third_party_entities",
    "emotion",
    "sentiment",
    "question_type",
)
ANNOTATION_COLUMNS = (
    *ANNOTATION_FIELDS,
    "are_ai_annotations_verified",
    "annotated_by",
    "verified_fields",
)
# The worker's bookkeeping on a thread, and its values while the thread waits for it.
STATE_COLUMNS = {
    "annotation_status": "pending",
    "annotation_attempts": 0,
    "annotation_due_at": None,
    "annotation_claimed_at": None,
    "annotation_error": None,
}
# Copied to the thread rows of a conversation whose own fields changed.
SHARED_COLUMNS = ("organization_id", "integration_id", "properties", "user_properties")
_t = semantic_threads.c
# Prepared once, like the conversation write path's statements: these run on every upsert.
_INSERT = Prepared(insert(semantic_threads))
_DELETE_FROM_RETURNING = Prepared(
    delete(semantic_threads)
    .where(
        _t.project_id == bindparam("project_id"),
        _t.conversation_id == bindparam("conversation_id"),
        _t.position >= bindparam("position"),
    )
    .returning(
        _t.id,
        _t.question,
        _t.answer,
        _t.message_ids,
        *(_t[name] for name in ANNOTATION_COLUMNS),
        *(_t[name] for name in STATE_COLUMNS),
    )
)
_UPDATE_SHARED_BEFORE = Prepared(
    update(semantic_threads)
    .where(
        _t.project_id == bindparam("where_project_id"),
        _t.conversation_id == bindparam("where_conversation_id"),
        _t.position < bindparam("where_position"),
    )
    .values({name: bindparam(name) for name in (*SHARED_COLUMNS, "last_updated")})
)


@dataclass(slots=True, frozen=True)
class _Previous:
    """What a stored thread had when its conversation was logged again."""

    question: str
    answer: str
    # The links its messages cited, or None where they are not known.
    cited: list[Any] | None
    annotations: dict[str, Any]
    state: dict[str, Any]


def feedback_flag(kind: str) -> ColumnElement[bool]:
    """Whether feedback of ``kind`` names a message of the thread (the messages at
    positions first_position..last_position of its conversation), for the thread row
    in the statement around it.

    EXISTS, not a join: a thread with two thumbs-down is still one thread.
    """
    t = semantic_threads
    return exists(
        select(1)
        .select_from(
            feedback.join(
                messages,
                and_(
                    messages.c.project_id == feedback.c.project_id,
                    messages.c.id == feedback.c.message_id,
                ),
            )
        )
        .where(
            feedback.c.project_id == t.c.project_id,
            feedback.c.conversation_id == t.c.conversation_id,
            feedback.c.type == kind,
            messages.c.position.between(t.c.first_position, t.c.last_position),
        )
    )


_POSITIVE, _NEGATIVE = feedback_flag("positive"), feedback_flag("negative")
# Only the threads whose flags change are written: a re-log of a long conversation must
# not rewrite every thread it has (store/conversations.py).
_REFRESH_FLAGS = Prepared(
    update(semantic_threads)
    .where(
        semantic_threads.c.project_id == bindparam("where_project_id"),
        semantic_threads.c.conversation_id == bindparam("where_conversation_id"),
        semantic_threads.c.position >= bindparam("where_position"),
        (semantic_threads.c.has_positive_feedback != _POSITIVE)
        | (semantic_threads.c.has_negative_feedback != _NEGATIVE),
    )
    .values(has_positive_feedback=_POSITIVE, has_negative_feedback=_NEGATIVE)
)


def refresh_feedback_flags(
    conn: Connection, project_id: str, conversation_id: str, *, from_position: int = 0
) -> None:
    """Set the feedback flags of the conversation's threads (those at ``from_position``
    and after) from its feedback now."""
    _REFRESH_FLAGS.execute(
        conn,
        {
            "where_project_id": project_id,
            "where_conversation_id": conversation_id,
            "where_position": from_position,
        },
    )


def refresh_all_feedback_flags(conn: Connection, project_id: str) -> None:
    """Set the feedback flags of every thread of the project (after a bulk load)."""
    t = semantic_threads.c
    conn.execute(
        update(semantic_threads)
        .where(
            t.project_id == project_id,
            (t.has_positive_feedback != _POSITIVE) | (t.has_negative_feedback != _NEGATIVE),
        )
        .values(has_positive_feedback=_POSITIVE, has_negative_feedback=_NEGATIVE)
    )


def derive_threads(
    conn: Connection, scope: Scope, conversation: Conversation, *, replacing: bool = True
) -> None:
    """Replace the stored threads of ``conversation`` with those its messages form now.

    Every thread is (re)queued for annotation: the messages they were derived from are
    not known here (see ``update_threads``). A thread whose question and answer did not
    change keeps its annotations until the worker replaces them; the fields a person
    verified are kept whatever changed. ``replacing=False`` (a new conversation) skips
    looking for stored threads: there are none.
    """
    kept = _delete_from(conn, scope, conversation.id, 0, None) if replacing else {}
    splits = split_threads(conversation.messages)
    _insert(conn, _rows(scope, conversation, splits, 0, datetime.now(UTC)), kept)
    if replacing:
        # New threads start without flags; a stored conversation may have feedback.
        refresh_feedback_flags(conn, scope.project_id, conversation.id)


def update_threads(
    conn: Connection,
    scope: Scope,
    conversation: Conversation,
    *,
    unchanged: int,
    stored_threads: int,
    stored_tail: Mapping[int, Message],
    shared_changed: bool,
    since: int = 0,
    threads_before: int = 0,
) -> None:
    """Derive again only the threads that the logged messages changed.

    The first ``unchanged`` of the conversation's messages are stored exactly as logged
    now; ``stored_threads`` is how many threads were stored, and ``stored_tail`` the
    stored messages (by position) from the last question before the first changed
    message on. A thread made only of unchanged messages, and not extended by the
    messages after them, is left as it is, annotations, done state and all; only the
    conversation's fields it copies are refreshed when ``shared_changed``. Every later
    thread is derived again, and one whose question, answer and cited links are what
    they were keeps its annotations and its annotation state: only new or changed
    threads are queued.

    ``since`` is where a thread starts at or before the first changed message, and
    ``threads_before`` how many threads come before it: those are left as they are,
    and the messages before it are not split again (a chat app sends the whole history
    at every turn).
    """
    splits = split_threads(conversation.messages, start=since)
    after = stored_tail.get(unchanged)
    kept_threads = threads_before
    for start, members in splits:
        end = start + len(members)  # the position after the thread's last message
        if end > unchanged:
            break
        # Ending where the unchanged messages end, it was longer if the stored message
        # that came next was no question.
        if end == unchanged and after is not None and after.role not in USER_ROLES:
            break
        kept_threads += 1
    now = datetime.now(UTC)
    if shared_changed and kept_threads:
        _UPDATE_SHARED_BEFORE.execute(
            conn,
            {
                "where_project_id": scope.project_id,
                "where_conversation_id": conversation.id,
                "where_position": kept_threads,
                "organization_id": conversation.organization_id,
                "integration_id": conversation.integration_id,
                "properties": conversation.properties,
                "user_properties": conversation.user_properties,
                "last_updated": now,
            },
        )
    previous: dict[str, _Previous] = {}
    if stored_threads > kept_threads:
        links = {m.id: m.links for m in stored_tail.values()}
        previous = _delete_from(conn, scope, conversation.id, kept_threads, links)
    rows = _rows(scope, conversation, splits, kept_threads - threads_before, now, threads_before)
    _insert(conn, rows, previous)
    if rows:
        # Threads derived again start without flags; their messages may have feedback.
        refresh_feedback_flags(conn, scope.project_id, conversation.id, from_position=kept_threads)


def _insert(conn: Connection, rows: list[dict[str, Any]], previous: dict[str, _Previous]) -> None:
    """Insert ``rows``, carrying over from the threads they replace what still holds."""
    for row in rows:
        cited = row.pop("_cited")
        old = previous.get(row["id"])
        if old is None:
            continue
        if (old.question, old.answer) != (row["question"], row["answer"]):
            row.update(verified_values(old.annotations))
            continue
        # The same text: the annotations still hold until the worker says otherwise,
        # and with the same links too, there is nothing for the worker to do again.
        row.update(old.annotations)
        if old.cited is not None and old.cited == cited:
            row.update(old.state)
    _INSERT.insert_rows(conn, rows)


def verified_values(annotations: dict[str, Any]) -> dict[str, Any]:
    """The columns a person verified, with their values (see ``verified_fields``)."""
    verified = annotations.get("verified_fields") or []
    kept = {name: annotations[name] for name in verified}
    if verified:
        kept["verified_fields"] = verified
        kept["are_ai_annotations_verified"] = True
    return kept


def delete_threads(conn: Connection, scope: Scope, conversation_id: str) -> None:
    conn.execute(
        delete(semantic_threads).where(
            semantic_threads.c.project_id == scope.project_id,
            semantic_threads.c.conversation_id == conversation_id,
        )
    )


def thread_rows(scope: Scope, conversation: Conversation, *, now: datetime) -> list[dict[str, Any]]:
    """The rows of ``semantic_threads`` for a conversation (pure: no database)."""
    rows = _rows(scope, conversation, split_threads(conversation.messages), 0, now)
    for row in rows:
        del row["_cited"]
    return rows


def _rows(
    scope: Scope,
    conversation: Conversation,
    splits: Sequence[tuple[int, list[Message]]],
    first: int,
    now: datetime,
    base: int = 0,
) -> list[dict[str, Any]]:
    """The rows of the threads from index ``first`` of ``splits`` on, each with the links
    it cites under ``_cited`` (not a column: what tells a changed thread from an unchanged
    one); ``splits`` start at the conversation's thread ``base``."""
    rows: list[dict[str, Any]] = []
    for local in range(first, len(splits)):
        start, members = splits[local]
        index = base + local
        question = message_text(members[0])
        answer = "\n\n".join(
            text
            for m in members[1:]
            if m.role not in _NOT_ANSWER_ROLES and (text := message_text(m))
        )
        times = [m.created_at for m in members]
        row: dict[str, Any] = {
            "project_id": scope.project_id,
            "id": thread_id(conversation.id, members[0].id),
            "conversation_id": conversation.id,
            "position": index,
            "first_position": start,
            "last_position": start + len(members) - 1,
            "organization_id": conversation.organization_id,
            "integration_id": conversation.integration_id,
            "question": question,
            "question_length": len(question),
            "answer": answer,
            "message_ids": [m.id for m in members],
            "messages_count": len(members),
            "conversation_ids": [conversation.id],
            "properties": conversation.properties,
            "user_properties": conversation.user_properties,
            "first_message_time": min(times),
            "last_message_time": max(times),
            "last_updated": now,
            "is_initial_question_answer": index == 0,
            "_cited": _cited([m.links for m in members]),
            "has_positive_feedback": False,
            "has_negative_feedback": False,
        }
        row.update(dict.fromkeys(ANNOTATION_COLUMNS))
        row.update(STATE_COLUMNS)
        rows.append(row)
    return rows


def _cited(links: Sequence[Any]) -> list[Any]:
    """The links of a thread's messages, comparable whichever engine stored them."""
    return [orjson.dumps(m, option=orjson.OPT_SORT_KEYS) for m in links if m]


def split_threads(
    messages: Sequence[Message], *, start: int = 0
) -> list[tuple[int, list[Message]]]:
    """``(position of the first message, messages)`` for each thread, in order; from
    position ``start`` on, where a thread starts or none is open."""
    threads: list[tuple[int, list[Message]]] = []
    for position, message in enumerate(messages[start:], start):
        if message.role in USER_ROLES:
            threads.append((position, [message]))
        elif threads:
            threads[-1][1].append(message)
    return threads


def thread_id(conversation_id: str, first_message_id: str) -> str:
    # A digest, not the ids themselves: both may be 512 characters long.
    digest = hashlib.sha256(f"{conversation_id}\x00{first_message_id}".encode()).hexdigest()
    return f"st_{digest[:40]}"


def message_text(message: Message) -> str:
    """The text of a message: a string, or the text parts of a list joined by newlines."""
    content = message.content
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _delete_from(
    conn: Connection,
    scope: Scope,
    conversation_id: str,
    position: int,
    links: dict[str, Any] | None,
) -> dict[str, _Previous]:
    """Delete the conversation's threads from ``position`` on; return what each had.

    One statement (DELETE … RETURNING, on both engines): this runs on most upserts.
    ``links`` are the links of the messages as they were stored, by message id (None
    when they are not known any more).
    """
    rows = _DELETE_FROM_RETURNING.all(
        conn,
        {"project_id": scope.project_id, "conversation_id": conversation_id, "position": position},
    )
    annotated = len(ANNOTATION_COLUMNS)
    previous: dict[str, _Previous] = {}
    for thread, question, answer, message_ids, *values in rows:
        previous[thread] = _Previous(
            question=question,
            answer=answer,
            # A message not among ``links`` (not stored, or not read): not known.
            cited=None
            if links is None or any(m not in links for m in message_ids)
            else _cited([links[m] for m in message_ids]),
            annotations=dict(zip(ANNOTATION_COLUMNS, values[:annotated], strict=True)),
            state=dict(zip(STATE_COLUMNS, values[annotated:], strict=True)),
        )
    return previous
