"""Events on the wire (API.md §2.10, §3.7)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from convoscope.schemas.common import (
    JsonObject,
    NonEmptyId,
    Timestamp,
    UserProperties,
    WireModel,
    dump_user_properties,
    format_timestamp,
)
from convoscope.store.records import Event, EventIn


class _InsertEventBase(WireModel):
    id: NonEmptyId | None = None
    type: str = Field(
        min_length=1, max_length=512, description="The event's name, e.g. chat_message_copied."
    )
    createdAt: Timestamp = None
    projectId: str | None = None
    integrationId: str | None = Field(None, max_length=64)
    properties: JsonObject | None = None
    userProperties: UserProperties | None = None

    def _record(self, entity_type: str, **target: str) -> EventIn:
        return EventIn(
            entity_type=entity_type,
            type=self.type,
            id=self.id,
            created_at=self.createdAt,
            integration_id=self.integrationId,
            properties=self.properties,
            user_properties=dump_user_properties(self.userProperties),
            **target,
        )


class InsertMessageEvent(_InsertEventBase):
    entityType: Literal["message"]
    messageId: NonEmptyId

    def to_record(self) -> EventIn:
        return self._record("message", message_id=self.messageId)


class InsertConversationEvent(_InsertEventBase):
    entityType: Literal["conversation"]
    conversationId: NonEmptyId

    def to_record(self) -> EventIn:
        return self._record("conversation", conversation_id=self.conversationId)


class InsertSearchEvent(_InsertEventBase):
    entityType: Literal["search"]
    searchQuery: str

    def to_record(self) -> EventIn:
        return self._record("search", search_query=self.searchQuery)


InsertEvent = Annotated[
    InsertMessageEvent | InsertConversationEvent | InsertSearchEvent,
    Field(discriminator="entityType"),
]

_TARGET_KEY = {"message": "messageId", "conversation": "conversationId", "search": "searchQuery"}


def event_to_wire(e: Event) -> JsonObject:
    target = {"message": e.message_id, "conversation": e.conversation_id, "search": e.search_query}
    wire: JsonObject = {
        "id": e.id,
        "type": e.type,
        _TARGET_KEY[e.entity_type]: target[e.entity_type],
        "createdAt": format_timestamp(e.created_at),
        "projectId": e.project_id,
        "integrationId": e.integration_id,
        "properties": e.properties,
        "userProperties": e.user_properties,
        "entityType": e.entity_type,
    }
    return wire


class SelectEvent(BaseModel):
    """The stored event; exactly one of messageId, conversationId, searchQuery is present."""

    id: str
    type: str
    entityType: Literal["message", "conversation", "search"]
    messageId: str | None = None
    conversationId: str | None = None
    searchQuery: str | None = None
    createdAt: str
    projectId: str | None
    integrationId: str | None
    properties: JsonObject | None = None
    userProperties: UserProperties | None = None
