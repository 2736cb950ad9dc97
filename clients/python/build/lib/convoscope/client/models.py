"""The client's own models of the API's bodies (the server's live in its ``schemas``).

Kept apart on purpose: the client installs with httpx and pydantic alone. Request models
send only the fields that were set (``exclude_unset``), because on an upsert an omitted
field keeps its stored value while an explicit ``None`` clears it. Response models keep
keys they do not declare (``extra="allow"``), so a newer server never breaks an older
client.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ContentPart",
    "Conversation",
    "ConversationCreate",
    "ConversationPage",
    "ConversationType",
    "Deleted",
    "Event",
    "EventCreate",
    "Feedback",
    "FeedbackCreate",
    "FeedbackPage",
    "FeedbackSource",
    "FeedbackWithContext",
    "ImageUrl",
    "Link",
    "Message",
    "MessageCreate",
    "QueryResult",
    "Reason",
    "SearchQueryCount",
    "ThreadVerification",
    "ToolCall",
    "ToolFunction",
    "VerifiedThread",
    "WeeklySearchUsers",
]

ConversationType = Literal["openai", "support_ticket", "support_copilot"]
JsonObject = dict[str, Any]


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_wire(self) -> JsonObject:
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ImageUrl(_Request):
    url: str
    detail: Literal["auto", "low", "high"] = "auto"


class ContentPart(_Request):
    type: Literal["text", "image_url"]
    text: str | None = None
    image_url: ImageUrl | None = None


class ToolFunction(_Request):
    name: str
    arguments: str = Field(description="The JSON-encoded arguments, as a string.")


class ToolCall(_Request):
    id: str
    type: Literal["function"] = "function"
    function: ToolFunction


class Link(_Request):
    url: str
    label: str | None = None
    title: str | None = None
    description: str | None = None
    type: str | None = None
    breadcrumbs: list[str] | None = None


class MessageCreate(_Request):
    """One message of a logged conversation; ``role`` is system/user/assistant for openai."""

    role: str
    content: str | list[ContentPart] | None
    id: str | None = None
    externalId: str | None = None
    externalUrl: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    name: str | None = None
    links: list[Link] | None = None
    properties: JsonObject | None = None
    userProperties: JsonObject | None = None
    tool_calls: list[ToolCall] | None = None


class ConversationCreate(_Request):
    """The body of ``POST /conversations``: the full history, upserted by ``id``."""

    type: ConversationType = "openai"
    messages: list[MessageCreate]
    id: str | None = None
    externalId: str | None = None
    externalUrl: str | None = None
    supportTicketConversationId: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    projectId: str | None = None
    integrationId: str | None = None
    properties: JsonObject | None = None
    userProperties: JsonObject | None = None
    tags: list[str] | None = None
    visibility: Literal["private", "public"] | None = None


class Reason(_Request):
    label: str
    details: str


class FeedbackSource(_Request):
    type: Literal["positive", "negative", "new"] | None
    title: str | None = None
    url: str | None = None


class FeedbackCreate(_Request):
    """The body of ``POST /feedback``, upserted by ``id``."""

    type: Literal["positive", "negative"]
    messageId: str
    id: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    reasons: list[Reason] | None = None
    details: str | None = None
    properties: JsonObject | None = None
    userProperties: JsonObject | None = None
    sources: list[FeedbackSource] | None = None


class EventCreate(_Request):
    """The body of ``POST /events``; set the id field matching ``entityType``."""

    type: str
    entityType: Literal["message", "conversation", "search"]
    messageId: str | None = None
    conversationId: str | None = None
    searchQuery: str | None = None
    id: str | None = None
    createdAt: str | None = None
    projectId: str | None = None
    integrationId: str | None = None
    properties: JsonObject | None = None
    userProperties: JsonObject | None = None


class ThreadVerification(_Request):
    """Annotation fields a person checked; each one sent is stored as verified."""

    isOnTopic: bool | None = None
    isClear: bool | None = None
    isDocumented: bool | None = None
    isFeatureSupported: bool | None = None
    isAnswerConfident: bool | None = None
    gapSummary: str | None = None
    subject: str | None = None
    category: str | None = None
    languages: list[str] | None = None
    firstPartyEntities: list[str] | None = None
    thirdPartyEntities: list[str] | None = None
    emotion: str | None = None
    sentiment: Literal["positive", "neutral", "negative"] | None = None
    questionType: str | None = None


class Message(_Response):
    id: str
    type: ConversationType
    conversationId: str
    createdAt: str
    updatedAt: str
    role: str
    content: str | list[ContentPart] | None
    externalId: str | None = None
    externalUrl: str | None = None
    name: str | None = None
    links: list[Link] | None = None
    properties: JsonObject | None = None
    userProperties: JsonObject | None = None
    tool_calls: list[ToolCall] | None = None


class Conversation(_Response):
    """A stored conversation with all its messages."""

    id: str
    type: ConversationType
    createdAt: str
    updatedAt: str
    messages: list[Message]
    externalId: str | None = None
    externalUrl: str | None = None
    supportTicketConversationId: str | None = None
    projectId: str | None = None
    integrationId: str | None = None
    properties: JsonObject | None = None
    userProperties: JsonObject | None = None
    tags: list[str] | None = None
    visibility: Literal["private", "public"] | None = None
    messagesOpenAIFormat: list[JsonObject] | None = None


class ConversationPage(_Response):
    conversations: list[Conversation]
    total: int
    pageSize: int
    count: int


class Deleted(_Response):
    success: bool
    message: str


class Feedback(_Response):
    id: str
    type: Literal["positive", "negative"]
    messageId: str
    createdAt: str
    updatedAt: str | None = None
    reasons: list[Reason] | None = None
    details: str | None = None
    properties: JsonObject | None = None
    userProperties: JsonObject | None = None
    sources: list[FeedbackSource] | None = None


class FeedbackWithContext(Feedback):
    """A feedback with the conversation and the message it rates."""

    conversation: Conversation
    message: Message


class FeedbackPage(_Response):
    positiveFeedbackCount: int
    negativeFeedbackCount: int
    positiveFeedback: list[FeedbackWithContext]
    negativeFeedback: list[FeedbackWithContext]


class Event(_Response):
    id: str
    type: str
    entityType: Literal["message", "conversation", "search"]
    createdAt: str
    messageId: str | None = None
    conversationId: str | None = None
    searchQuery: str | None = None
    projectId: str | None = None
    integrationId: str | None = None
    properties: JsonObject | None = None
    userProperties: JsonObject | None = None


class QueryResult(_Response):
    """The rows of a query (at most ``pageSize``) and how many match in all (``total``)."""

    result: list[JsonObject]
    total: int
    pageSize: int
    count: int


class SearchQueryCount(_Response):
    search_query: str
    count: int


class WeeklySearchUsers(_Response):
    week: str
    unique_users: int


class VerifiedThread(_Response):
    id: str
    areAIAnnotationsVerified: bool
    verifiedFields: list[str]
    annotatedBy: str | None = None
