"""Events: named interactions with a message, a conversation or a search."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select

from convoscope.store.ids import new_id
from convoscope.store.mapping import RowMapper
from convoscope.store.prepared import Prepared, pipelined
from convoscope.store.privacy import redact_event
from convoscope.store.records import Event, EventIn, Scope
from convoscope.store.tables import events, messages

# Prepared once, as on the conversations write path (see store/prepared.py).
_MESSAGE_CONVERSATION = Prepared(
    select(messages.c.conversation_id).where(
        messages.c.project_id == bindparam("project_id"),
        messages.c.id == bindparam("message_id"),
    )
)
_DELETE = Prepared(
    delete(events).where(
        events.c.project_id == bindparam("project_id"), events.c.id == bindparam("event_id")
    )
)
_INSERT = Prepared(insert(events))
_ROWS = RowMapper(Event, events, supplied=("organization_id",))


def insert_event(conn: Connection, scope: Scope, data: EventIn) -> Event:
    """Store the event, replacing one with the same id (a retried request stays one event).

    The message or conversation it names need not exist yet: clients send events as
    they happen, and the conversation may be logged after them. For a message event
    the message's conversation is recorded when it is already known. The project's
    redaction applies before anything is written.
    """
    data = redact_event(conn, scope.project_id, data)
    conversation_id = data.conversation_id
    if data.entity_type == "message" and conversation_id is None:
        found = _MESSAGE_CONVERSATION.first(
            conn, {"project_id": scope.project_id, "message_id": data.message_id}
        )
        conversation_id = found[0] if found is not None else None
    event = Event(
        id=data.id or new_id("evt"),
        entity_type=data.entity_type,
        type=data.type,
        project_id=scope.project_id,
        created_at=data.created_at or datetime.now(UTC),
        integration_id=data.integration_id or scope.integration_id,
        message_id=data.message_id,
        conversation_id=conversation_id,
        search_query=data.search_query,
        properties=data.properties,
        user_properties=data.user_properties,
    )
    with pipelined(conn):  # one round trip on PostgreSQL
        if data.id is not None:
            _DELETE.execute(conn, {"project_id": scope.project_id, "event_id": data.id})
        _INSERT.execute(conn, _row(scope, event))
    return event


def _row(scope: Scope, e: Event) -> dict[str, Any]:
    return _ROWS.row(e, organization_id=scope.organization_id)
