"""Between the wire models and the store's records, both ways: the one place that speaks
both, so neither the wire models nor the store knows the other."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from convoscope.annotation_names import COLUMN_TO_WIRE, WIRE_TO_COLUMN
from convoscope.schemas import (
    CreateOpenAIConversation,
    CreateSupportCopilotConversation,
    CreateSupportTicketConversation,
    InsertConversationEvent,
    InsertEvent,
    InsertMessageEvent,
    InsertSearchEvent,
    JsonObject,
    LogFeedbackRequestBody,
    OpenAIMessageCreate,
    SupportMessageCreate,
    ThreadVerification,
    dump_links,
    dump_user_properties,
    format_timestamp,
)
from convoscope.store import (
    KEPT_WHEN_OMITTED,
    Conversation,
    ConversationIn,
    Event,
    EventIn,
    Feedback,
    FeedbackIn,
    Message,
    MessageIn,
    VerifiedFields,
)

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
    # A chat app sends the whole history at every turn, so this runs for every message
    # of it each time: the common case (no parts, tool calls, links or user properties)
    # takes no call but the record's, and the record is built from positional arguments
    # (a third of the time of keywords); their order is MessageIn's fields'.
    content: Any = m.content
    tool_calls = None
    if isinstance(m, OpenAIMessageCreate):
        if isinstance(m.content, list):
            content = [part.model_dump(exclude_none=True) for part in m.content]
        if m.tool_calls is not None:
            tool_calls = [call.model_dump() for call in m.tool_calls]
    links = m.links
    user_properties = m.userProperties
    return MessageIn(
        m.role,
        content,
        m.id,
        m.name,
        tool_calls,
        None if links is None else dump_links(links),
        m.properties,
        None if user_properties is None else dump_user_properties(user_properties),
        m.externalId,
        m.externalUrl,
        m.createdAt,
        m.updatedAt,
    )


# Responses are built as plain dicts, not validated models: this is the hot path of every
# read, and the shapes are pinned by the conformance tests against the official SDK.


# The texts of the times answers showed last. A chat app is answered with its whole
# history at every turn, and each message keeps its creation time: formatting them all
# again took more than half of building the answer (1 µs a time, against 0.1 µs to find
# one here). Aware datetimes are equal exactly when they are the same instant, which is
# what the text says.
_stamp = lru_cache(maxsize=8192)(format_timestamp)


def message_to_wire(conversation_type: str, m: Message) -> JsonObject:
    """The wire form of ``m``."""
    return _messages_to_wire(conversation_type, [m])[0][0]


def _messages_to_wire(
    conversation_type: str, messages: list[Message]
) -> tuple[list[JsonObject], list[JsonObject]]:
    """The wire form of each message, and its OpenAI chat form.

    One loop for both, with no call per message but the (cached) texts of its times: the
    answer to a chat app holds its whole history, every turn."""
    wires: list[JsonObject] = []
    chats: list[JsonObject] = []
    for m in messages:
        role, content = m.role, m.content
        wire: JsonObject = {
            "id": m.id,
            "type": conversation_type,
            "externalId": m.external_id,
            "externalUrl": m.external_url,
            "conversationId": m.conversation_id,
            "createdAt": _stamp(m.created_at),
            "updatedAt": _stamp(m.updated_at),
            "role": role,
            "content": content,
        }
        chat: JsonObject = {"role": role, "content": content}
        name, tool_calls = m.name, m.tool_calls
        if name is not None:
            wire["name"] = chat["name"] = name
        if m.links is not None:
            wire["links"] = m.links
        if m.properties is not None:
            wire["properties"] = m.properties
        if m.user_properties is not None:
            wire["userProperties"] = m.user_properties
        if tool_calls is not None:
            wire["tool_calls"] = chat["tool_calls"] = tool_calls
        wires.append(wire)
        chats.append(chat)
    return wires, chats


def conversation_to_wire(c: Conversation) -> JsonObject:
    # The messages of a conversation share their times often (all those sent without
    # updatedAt were updated at its last log), and its next answer shows them again.
    messages, chats = _messages_to_wire(c.type, c.messages)
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
        "messages": messages,
    }
    if c.type == "openai":
        wire["messagesOpenAIFormat"] = chats
    return wire


def event_in(body: InsertEvent) -> EventIn:
    return EventIn(
        entity_type=body.entityType,
        type=body.type,
        id=body.id,
        message_id=body.messageId if isinstance(body, InsertMessageEvent) else None,
        conversation_id=body.conversationId if isinstance(body, InsertConversationEvent) else None,
        search_query=body.searchQuery if isinstance(body, InsertSearchEvent) else None,
        created_at=body.createdAt,
        integration_id=body.integrationId,
        properties=body.properties,
        user_properties=dump_user_properties(body.userProperties),
    )


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


def feedback_in(body: LogFeedbackRequestBody) -> FeedbackIn:
    return FeedbackIn(
        id=body.id,
        type=body.type,
        message_id=body.messageId,
        created_at=body.createdAt,
        updated_at=body.updatedAt,
        reasons=[r.model_dump() for r in body.reasons] if body.reasons is not None else None,
        details=body.details,
        properties=body.properties,
        user_properties=dump_user_properties(body.userProperties),
        sources=[s.model_dump() for s in body.sources] if body.sources is not None else None,
    )


def feedback_to_wire(f: Feedback) -> JsonObject:
    return {
        "id": f.id,
        "type": f.type,
        "messageId": f.message_id,
        "createdAt": format_timestamp(f.created_at),
        "updatedAt": format_timestamp(f.updated_at),
        "reasons": f.reasons,
        "details": f.details,
        "properties": f.properties,
        "userProperties": f.user_properties,
        "sources": f.sources,
    }


def verification_in(body: ThreadVerification) -> dict[str, Any]:
    """The fields a person sent, by column name."""
    sent = body.model_fields_set
    return {column: getattr(body, wire) for wire, column in WIRE_TO_COLUMN.items() if wire in sent}


def verified_thread_to_wire(v: VerifiedFields) -> JsonObject:
    return {
        "id": v.id,
        **{wire: v.values[column] for wire, column in WIRE_TO_COLUMN.items()},
        "areAIAnnotationsVerified": True,
        "verifiedFields": [COLUMN_TO_WIRE[column] for column in v.verified_fields],
        "annotatedBy": v.annotated_by,
    }
