"""Plain records passed between the store and the layers above it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JsonObject = dict[str, Any]


@dataclass(slots=True, frozen=True)
class Scope:
    """Where a request's data lives: the project (and organization) of its API key."""

    organization_id: str
    project_id: str
    integration_id: str | None = None


@dataclass(slots=True)
class MessageIn:
    role: str
    content: Any
    id: str | None = None
    name: str | None = None
    tool_calls: list[JsonObject] | None = None
    links: list[JsonObject] | None = None
    properties: JsonObject | None = None
    user_properties: JsonObject | None = None
    external_id: str | None = None
    external_url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class ConversationIn:
    type: str
    messages: list[MessageIn]
    id: str | None = None
    external_id: str | None = None
    external_url: str | None = None
    support_ticket_conversation_id: str | None = None
    integration_id: str | None = None
    visibility: str | None = None
    properties: JsonObject | None = None
    user_properties: JsonObject | None = None
    tags: list[str] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Columns (of KEPT_WHEN_OMITTED) the request left out: an update keeps their stored
    # values, where a None that was sent clears them.
    omitted: frozenset[str] = frozenset()


# The top-level fields an upsert that omits them leaves as stored.
KEPT_WHEN_OMITTED = (
    "properties",
    "user_properties",
    "tags",
    "external_id",
    "external_url",
    "visibility",
    "support_ticket_conversation_id",
)


@dataclass(slots=True)
class Message:
    id: str
    conversation_id: str
    role: str
    content: Any
    created_at: datetime
    updated_at: datetime
    name: str | None = None
    tool_calls: list[JsonObject] | None = None
    links: list[JsonObject] | None = None
    properties: JsonObject | None = None
    user_properties: JsonObject | None = None
    external_id: str | None = None
    external_url: str | None = None


@dataclass(slots=True)
class Conversation:
    id: str
    type: str
    project_id: str
    organization_id: str
    integration_id: str | None
    created_at: datetime
    updated_at: datetime
    external_id: str | None = None
    external_url: str | None = None
    support_ticket_conversation_id: str | None = None
    visibility: str | None = None
    properties: JsonObject | None = None
    user_properties: JsonObject | None = None
    tags: list[str] | None = None
    messages: list[Message] = field(default_factory=list)


@dataclass(slots=True)
class FeedbackIn:
    type: str
    message_id: str
    id: str | None = None
    reasons: list[JsonObject] | None = None
    details: str | None = None
    sources: list[JsonObject] | None = None
    properties: JsonObject | None = None
    user_properties: JsonObject | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class Feedback:
    id: str
    type: str
    message_id: str
    conversation_id: str
    created_at: datetime
    updated_at: datetime
    integration_id: str | None = None
    reasons: list[JsonObject] | None = None
    details: str | None = None
    sources: list[JsonObject] | None = None
    properties: JsonObject | None = None
    user_properties: JsonObject | None = None


@dataclass(slots=True)
class EventIn:
    entity_type: str
    type: str
    id: str | None = None
    message_id: str | None = None
    conversation_id: str | None = None
    search_query: str | None = None
    integration_id: str | None = None
    properties: JsonObject | None = None
    user_properties: JsonObject | None = None
    created_at: datetime | None = None


@dataclass(slots=True)
class Event:
    id: str
    entity_type: str
    type: str
    project_id: str
    created_at: datetime
    integration_id: str | None = None
    message_id: str | None = None
    conversation_id: str | None = None
    search_query: str | None = None
    properties: JsonObject | None = None
    user_properties: JsonObject | None = None


@dataclass(slots=True, frozen=True)
class VerifiedFields:
    """A thread after a person verified fields: every annotation field by column name,
    and the columns verified (sorted)."""

    id: str
    values: dict[str, Any]
    verified_fields: list[str]
    annotated_by: str | None
