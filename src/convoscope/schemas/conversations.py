"""Conversations on the wire (API.md §2.1–2.5, §3.2–3.5)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from convoscope.schemas.common import (
    JsonObject,
    Link,
    NonEmptyId,
    Timestamp,
    UserProperties,
    WireModel,
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
