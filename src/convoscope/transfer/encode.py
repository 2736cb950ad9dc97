"""Stored records as export lines: create bodies with every field, and nothing lost.

Timestamps keep their microseconds (the API's responses show milliseconds), so a file
imported and exported again is the same file, byte for byte. Keys are sorted, so the
same data gives the same bytes from SQLite and from PostgreSQL (whose JSONB reorders
the keys of stored objects).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from convoscope.annotation_names import COLUMN_TO_WIRE, WIRE_TO_COLUMN
from convoscope.store import Conversation, Event, Feedback, Message
from convoscope.store.transfer import ThreadState

# Values a thread's annotation wire names take from its columns, both ways.
ANNOTATION_WIRE = {**WIRE_TO_COLUMN, "areAIAnnotationsVerified": "are_ai_annotations_verified"}
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def timestamp(value: datetime) -> str:
    """``2025-03-01T09:30:00.123456Z``: ISO-8601 in UTC, to the microsecond."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
        f"{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}Z"
    )


def conversation_line(
    c: Conversation, feedback: list[Feedback], events: list[Event], threads: list[ThreadState]
) -> bytes:
    line: dict[str, Any] = {"conversation": conversation_body(c)}
    if feedback:
        line["feedback"] = [feedback_body(f) for f in feedback]
    if events:
        line["events"] = [event_body(e) for e in events]
    kept = [thread_body(t) for t in threads if not t.is_untouched]
    if kept:
        line["threads"] = kept
    return orjson.dumps(line, option=_OPTIONS)


def event_line(e: Event) -> bytes:
    return orjson.dumps({"event": event_body(e)}, option=_OPTIONS)


def conversation_body(c: Conversation) -> dict[str, Any]:
    # Top-level fields stay explicit even when null: an upsert keeps what is omitted.
    return {
        "id": c.id,
        "type": c.type,
        "externalId": c.external_id,
        "externalUrl": c.external_url,
        "supportTicketConversationId": c.support_ticket_conversation_id,
        "integrationId": c.integration_id,
        "visibility": c.visibility,
        "properties": c.properties,
        "userProperties": c.user_properties,
        "tags": c.tags,
        "createdAt": timestamp(c.created_at),
        "updatedAt": timestamp(c.updated_at),
        "messages": [_message_body(m) for m in c.messages],
    }


def _message_body(m: Message) -> dict[str, Any]:
    return _present(
        {
            "id": m.id,
            "role": m.role,
            "content": m.content,
            "name": m.name,
            "tool_calls": m.tool_calls,
            "links": m.links,
            "properties": m.properties,
            "userProperties": m.user_properties,
            "externalId": m.external_id,
            "externalUrl": m.external_url,
            "createdAt": timestamp(m.created_at),
            "updatedAt": timestamp(m.updated_at),
        },
        keep="content",
    )


def feedback_body(f: Feedback) -> dict[str, Any]:
    return _present(
        {
            "id": f.id,
            "type": f.type,
            "messageId": f.message_id,
            "integrationId": f.integration_id,
            "reasons": f.reasons,
            "details": f.details,
            "sources": f.sources,
            "properties": f.properties,
            "userProperties": f.user_properties,
            "createdAt": timestamp(f.created_at),
            "updatedAt": timestamp(f.updated_at),
        }
    )


_TARGET = {"message": "messageId", "conversation": "conversationId", "search": "searchQuery"}


def event_body(e: Event) -> dict[str, Any]:
    target = {"message": e.message_id, "conversation": e.conversation_id, "search": e.search_query}
    return _present(
        {
            "id": e.id,
            "entityType": e.entity_type,
            "type": e.type,
            _TARGET[e.entity_type]: target[e.entity_type],
            "integrationId": e.integration_id,
            "properties": e.properties,
            "userProperties": e.user_properties,
            "createdAt": timestamp(e.created_at),
        }
    )


def thread_body(t: ThreadState) -> dict[str, Any]:
    annotations = {
        wire: t.values[column]
        for wire, column in ANNOTATION_WIRE.items()
        if t.values[column] is not None
    }
    return _present(
        {
            "id": t.id,
            # A claim belongs to a worker of the database it came from.
            "status": "pending" if t.status == "claimed" else t.status,
            "attempts": t.attempts or None,
            "error": t.error,
            "annotatedBy": t.values["annotated_by"],
            "verifiedFields": verified_wire(t.values["verified_fields"]),
            "annotations": annotations or None,
        }
    )


def verified_wire(columns: list[str] | None) -> list[str] | None:
    """The wire names of the fields a person verified, in their stored order."""
    return None if columns is None else [COLUMN_TO_WIRE[column] for column in columns]


def _present(body: dict[str, Any], keep: str = "") -> dict[str, Any]:
    """Without the keys whose value is null (absent and null mean the same there)."""
    return {k: v for k, v in body.items() if v is not None or k == keep}
