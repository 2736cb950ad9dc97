"""Conversations on the wire (API.md §2.1–2.5, §3.2–3.5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from convoscope.schemas.common import (
    JsonObject,
    Link,
    NonEmptyId,
    Timestamp,
    UserProperties,
    WireModel,
    dump_links,
    dump_user_properties,
    format_timestamp,
)
from convoscope.store.records import (
    KEPT_WHEN_OMITTED,
    Conversation,
    ConversationIn,
    Message,
    MessageIn,
)

ConversationType = Literal["openai", "support_ticket", "support_copilot"]
Visibility = Literal["private", "public"]


class ImageUrl(WireModel):
    url: str
    detail: Literal["auto", "low", "high"] = "auto"


class ContentPart(WireModel):
    """One part of a multi-part OpenAI message: text or an image."""

    type: Literal["text", "image_url"]
    text: str | None = None
    image_url: ImageUrl | None = None


class ToolFunction(WireModel):
    name: str
    arguments: str = Field(description="The JSON-encoded arguments, as a string.")


class ToolCall(WireModel):
    id: str
    type: Literal["function"]
    function: ToolFunction


class _MessageCreateBase(WireModel):
    id: NonEmptyId | None = None
    externalId: str | None = None
    externalUrl: str | None = None
    createdAt: Timestamp = None
    updatedAt: Timestamp = None
    name: str | None = None
    links: list[Link] | None = None
    properties: JsonObject | None = None
    userProperties: UserProperties | None = None


class OpenAIMessageCreate(_MessageCreateBase):
    role: Literal["system", "user", "assistant"]
    content: str | list[ContentPart]
    tool_calls: list[ToolCall] | None = None


class SupportMessageCreate(_MessageCreateBase):
    role: str = Field(min_length=1, max_length=64)
    content: str | None = None


class _ConversationCreateBase(WireModel):
    id: NonEmptyId | None = None
    externalId: str | None = Field(None, max_length=512)
    externalUrl: str | None = None
    supportTicketConversationId: str | None = Field(None, max_length=512)
    createdAt: Timestamp = None
    updatedAt: Timestamp = None
    projectId: str | None = None
    integrationId: str | None = Field(None, max_length=64)
    properties: JsonObject | None = None
    userProperties: UserProperties | None = None
    tags: list[str] | None = None
    visibility: Visibility | None = None


class CreateOpenAIConversation(_ConversationCreateBase):
    type: Literal["openai"]
    messages: list[OpenAIMessageCreate] = Field(min_length=1)


class CreateSupportTicketConversation(_ConversationCreateBase):
    type: Literal["support_ticket"]
    messages: list[SupportMessageCreate] = Field(min_length=1)


class CreateSupportCopilotConversation(_ConversationCreateBase):
    type: Literal["support_copilot"]
    messages: list[SupportMessageCreate] = Field(min_length=1)


CreateConversation = Annotated[
    CreateOpenAIConversation | CreateSupportTicketConversation | CreateSupportCopilotConversation,
    Field(discriminator="type"),
]
create_conversation_adapter: TypeAdapter[
    CreateOpenAIConversation | CreateSupportTicketConversation | CreateSupportCopilotConversation
] = TypeAdapter(CreateConversation)


# The wire name of each field an update keeps when the request omits it.
_KEPT_FIELDS = dict(
    zip(
        KEPT_WHEN_OMITTED,
        (
            "properties",
            "userProperties",
            "tags",
            "externalId",
            "externalUrl",
            "visibility",
            "supportTicketConversationId",
        ),
        strict=True,
    )
)


def to_conversation_in(
    body: CreateOpenAIConversation
    | CreateSupportTicketConversation
    | CreateSupportCopilotConversation,
) -> ConversationIn:
    sent = body.model_fields_set
    return ConversationIn(
        type=body.type,
        id=body.id,
        external_id=body.externalId,
        external_url=body.externalUrl,
        support_ticket_conversation_id=body.supportTicketConversationId,
        integration_id=body.integrationId,
        visibility=body.visibility,
        properties=body.properties,
        user_properties=dump_user_properties(body.userProperties),
        tags=body.tags,
        created_at=body.createdAt,
        updated_at=body.updatedAt,
        messages=[_to_message_in(m) for m in body.messages],
        omitted=frozenset(column for column, wire in _KEPT_FIELDS.items() if wire not in sent),
    )


def _to_message_in(m: OpenAIMessageCreate | SupportMessageCreate) -> MessageIn:
    content: Any = m.content
    tool_calls = None
    if isinstance(m, OpenAIMessageCreate):
        if isinstance(m.content, list):
            content = [part.model_dump(exclude_none=True) for part in m.content]
        if m.tool_calls is not None:
            tool_calls = [call.model_dump() for call in m.tool_calls]
    return MessageIn(
        role=m.role,
        content=content,
        id=m.id,
        name=m.name,
        tool_calls=tool_calls,
        links=dump_links(m.links),
        properties=m.properties,
        user_properties=dump_user_properties(m.userProperties),
        external_id=m.externalId,
        external_url=m.externalUrl,
        created_at=m.createdAt,
        updated_at=m.updatedAt,
    )


# Responses are built as plain dicts, not validated models: this is the hot path of every
# read, and the shapes are pinned by the conformance tests against the official SDK.


def message_to_wire(conversation_type: str, m: Message) -> JsonObject:
    wire: JsonObject = {
        "id": m.id,
        "type": conversation_type,
        "externalId": m.external_id,
        "externalUrl": m.external_url,
        "conversationId": m.conversation_id,
        "createdAt": format_timestamp(m.created_at),
        "updatedAt": format_timestamp(m.updated_at),
        "role": m.role,
        "content": m.content,
    }
    if m.name is not None:
        wire["name"] = m.name
    if m.links is not None:
        wire["links"] = m.links
    if m.properties is not None:
        wire["properties"] = m.properties
    if m.user_properties is not None:
        wire["userProperties"] = m.user_properties
    if m.tool_calls is not None:
        wire["tool_calls"] = m.tool_calls
    return wire


def _openai_format(m: Message) -> JsonObject:
    item: JsonObject = {"role": m.role, "content": m.content}
    if m.name is not None:
        item["name"] = m.name
    if m.tool_calls is not None:
        item["tool_calls"] = m.tool_calls
    return item


def conversation_to_wire(c: Conversation) -> JsonObject:
    wire: JsonObject = {
        "id": c.id,
        "externalId": c.external_id,
        "externalUrl": c.external_url,
        "type": c.type,
        "supportTicketConversationId": c.support_ticket_conversation_id,
        "createdAt": format_timestamp(c.created_at),
        "updatedAt": format_timestamp(c.updated_at),
        "projectId": c.project_id,
        "integrationId": c.integration_id,
        "properties": c.properties,
        "userProperties": c.user_properties,
        "tags": c.tags,
        "visibility": c.visibility,
        "messages": [message_to_wire(c.type, m) for m in c.messages],
    }
    if c.type == "openai":
        wire["messagesOpenAIFormat"] = [_openai_format(m) for m in c.messages]
    return wire


# Response models, for the OpenAPI document and the shape tests.


class MessageOut(BaseModel):
    id: str
    type: ConversationType
    externalId: str | None
    externalUrl: str | None
    conversationId: str
    createdAt: str
    updatedAt: str
    role: str
    content: str | list[ContentPart] | None
    name: str | None = None
    links: list[Link] | None = None
    properties: JsonObject | None = None
    userProperties: UserProperties | None = None
    tool_calls: list[ToolCall] | None = None


class OpenAIChatCompletionMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str | list[ContentPart]
    name: str | None = None
    tool_calls: list[ToolCall] | None = None


class ConversationOut(BaseModel):
    """A stored conversation with all its messages."""

    id: str
    externalId: str | None
    externalUrl: str | None
    type: ConversationType
    supportTicketConversationId: str | None
    createdAt: str
    updatedAt: str
    projectId: str | None
    integrationId: str | None
    properties: JsonObject | None = None
    userProperties: UserProperties | None = None
    tags: list[str] | None = None
    visibility: Visibility | None
    messages: list[MessageOut]
    messagesOpenAIFormat: list[OpenAIChatCompletionMessage] | None = Field(
        None, description="Present, and required, for conversations of type openai."
    )


class ConversationPage(BaseModel):
    conversations: list[ConversationOut]
    total: int
    pageSize: int
    count: int


class DeleteResponse(BaseModel):
    success: bool
    message: str
