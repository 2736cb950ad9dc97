"""Semantic threads: each question of a conversation with the answer that followed it.

Derived deterministically (API.md §4.10) in the same transaction as every upsert or delete
of the conversation, so a thread never outlives or lags its conversation:

- a message from the user (role ``user``, or ``customer`` in support tickets) starts a
  thread; the thread runs until the next such message. Messages before the first user
  message (a system prompt) belong to no thread;
- ``question`` is the text of the user message (text parts joined by newlines) and
  ``answer`` the texts of the assistant or agent replies, joined by blank lines;
- a thread's id depends only on its conversation and its first message, so re-logging a
  conversation keeps the ids of the threads it already had, and the annotations of a
  thread whose question and answer did not change.

The feedback flags are not stored here; the query layer computes them from the feedback
table (see ``convoscope.query.fields``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert

from convoscope.store.prepared import Prepared
from convoscope.store.records import Conversation, Message, Scope
from convoscope.store.tables import semantic_threads

USER_ROLES = frozenset({"user", "customer"})
# Roles whose text is not part of an answer: instructions, not replies.
_NOT_ANSWER_ROLES = USER_ROLES | {"system"}

ANNOTATION_COLUMNS = (
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
    "are_ai_annotations_verified",
    "annotated_by",
    "verified_fields",
)
# The annotation fields a person may verify: wire name -> column.
WIRE_TO_COLUMN = {
    "isOnTopic": "is_on_topic",
    "isClear": "is_clear",
    "isDocumented": "is_documented",
    "isFeatureSupported": "is_feature_supported",
    "isAnswerConfident": "is_answer_confident",
    "gapSummary": "gap_summary",
    "subject": "subject",
    "category": "category",
    "languages": "languages",
    "firstPartyEntities": "first_party_entities",
    "thirdPartyEntities": "third_party_entities",
    "emotion": "emotion",
    "sentiment": "sentiment",
    "questionType": "question_type",
}
# Prepared once, like the conversation write path's statements: these run on every upsert.
_INSERT = Prepared(insert(semantic_threads))
_DELETE_RETURNING = Prepared(
    delete(semantic_threads)
    .where(
        semantic_threads.c.project_id == bindparam("project_id"),
        semantic_threads.c.conversation_id == bindparam("conversation_id"),
    )
    .returning(
        semantic_threads.c.id,
        semantic_threads.c.question,
        semantic_threads.c.answer,
        *(semantic_threads.c[name] for name in ANNOTATION_COLUMNS),
    )
)


def derive_threads(
    conn: Connection, scope: Scope, conversation: Conversation, *, replacing: bool = True
) -> None:
    """Replace the stored threads of ``conversation`` with those its messages form now.

    Every thread is (re)queued for annotation. A thread whose question and answer did not
    change keeps its annotations until the worker replaces them; the fields a person
    verified are kept whatever changed. ``replacing=False`` (a new conversation) skips
    looking for stored threads: there are none.
    """
    kept = _delete_keeping_annotations(conn, scope, conversation.id) if replacing else {}
    rows = thread_rows(scope, conversation, now=datetime.now(UTC))
    for row in rows:
        previous = kept.get(row["id"])
        if previous is None:
            continue
        (question, answer), annotations = previous
        if (question, answer) == (row["question"], row["answer"]):
            row.update(annotations)
        else:
            row.update(verified_values(annotations))
    _INSERT.executemany(conn, rows)


def verified_values(annotations: dict[str, Any]) -> dict[str, Any]:
    """The columns a person verified, with their values (see ``verified_fields``)."""
    verified = annotations.get("verified_fields") or []
    kept = {WIRE_TO_COLUMN[name]: annotations[WIRE_TO_COLUMN[name]] for name in verified}
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
    rows: list[dict[str, Any]] = []
    for index, (start, members) in enumerate(split_threads(conversation.messages)):
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
        }
        row.update(dict.fromkeys(ANNOTATION_COLUMNS))
        rows.append(row)
    return rows


def split_threads(messages: Sequence[Message]) -> list[tuple[int, list[Message]]]:
    """``(position of the first message, messages)`` for each thread, in order."""
    threads: list[tuple[int, list[Message]]] = []
    for position, message in enumerate(messages):
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


def _delete_keeping_annotations(
    conn: Connection, scope: Scope, conversation_id: str
) -> dict[str, tuple[tuple[str, str], dict[str, Any]]]:
    """Delete the conversation's threads; return the annotations of those that had any.

    One statement (DELETE … RETURNING, on both engines): this runs on every upsert.
    """
    rows = _DELETE_RETURNING.all(
        conn, {"project_id": scope.project_id, "conversation_id": conversation_id}
    )
    kept: dict[str, tuple[tuple[str, str], dict[str, Any]]] = {}
    for thread, question, answer, *values in rows:
        if any(value is not None for value in values):
            kept[thread] = ((question, answer), dict(zip(ANNOTATION_COLUMNS, values, strict=True)))
    return kept
