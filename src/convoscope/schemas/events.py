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
)


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


class InsertMessageEvent(_InsertEventBase):
    entityType: Literal["message"]
    messageId: NonEmptyId


class InsertConversationEvent(_InsertEventBase):
    entityType: Literal["conversation"]
    conversationId: NonEmptyId


class InsertSearchEvent(_InsertEventBase):
    entityType: Literal["search"]
    searchQuery: str


InsertEvent = Annotated[
    InsertMessageEvent | InsertConversationEvent | InsertSearchEvent,
    Field(discriminator="entityType"),
]


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
