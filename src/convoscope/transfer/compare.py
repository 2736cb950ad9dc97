"""Whether a line would change what is stored: a line already imported is skipped.

A field the line leaves out is whatever the upsert would keep or make up for it (a
timestamp the server would set to now, a message id it keeps by position), so it matches
any stored value: importing a file twice changes nothing, timestamps included.
"""

from __future__ import annotations

from datetime import datetime

from convoscope.store import (
    KEPT_WHEN_OMITTED,
    Conversation,
    ConversationIn,
    Event,
    EventIn,
    Feedback,
    FeedbackIn,
    Scope,
)
from convoscope.store.transfer import ThreadState

_MESSAGE_FIELDS = (
    "role",
    "content",
    "name",
    "tool_calls",
    "links",
    "properties",
    "user_properties",
    "external_id",
    "external_url",
)


def same_conversation(new: ConversationIn, stored: Conversation, scope: Scope) -> bool:
    if new.type != stored.type or len(new.messages) != len(stored.messages):
        return False
    if (new.integration_id or scope.integration_id) != stored.integration_id:
        return False
    for column in KEPT_WHEN_OMITTED:
        if column not in new.omitted and getattr(new, column) != getattr(stored, column):
            return False
    if not (_same_time(new.created_at, stored.created_at)):
        return False
    if not (_same_time(new.updated_at, stored.updated_at)):
        return False
    for m, s in zip(new.messages, stored.messages, strict=True):
        if m.id is not None and m.id != s.id:
            return False
        if any(getattr(m, name) != getattr(s, name) for name in _MESSAGE_FIELDS):
            return False
        if not (_same_time(m.created_at, s.created_at) and _same_time(m.updated_at, s.updated_at)):
            return False
    return True


def same_feedback(new: FeedbackIn, integration_id: str | None, stored: Feedback) -> bool:
    return (
        new.type == stored.type
        and new.message_id == stored.message_id
        and integration_id == stored.integration_id
        and new.reasons == stored.reasons
        and new.details == stored.details
        and new.sources == stored.sources
        and new.properties == stored.properties
        and new.user_properties == stored.user_properties
        and _same_time(new.created_at, stored.created_at)
        and _same_time(new.updated_at, stored.updated_at)
    )


def same_event(new: EventIn, scope: Scope, stored: Event) -> bool:
    return (
        new.entity_type == stored.entity_type
        and new.type == stored.type
        and new.message_id == stored.message_id
        and (new.conversation_id is None or new.conversation_id == stored.conversation_id)
        and new.search_query == stored.search_query
        and (new.integration_id or scope.integration_id) == stored.integration_id
        and new.properties == stored.properties
        and new.user_properties == stored.user_properties
        and _same_time(new.created_at, stored.created_at)
    )


def same_thread(new: ThreadState, stored: ThreadState) -> bool:
    return (
        new.status == ("pending" if stored.status == "claimed" else stored.status)
        and new.attempts == stored.attempts
        and new.error == stored.error
        and new.values == stored.values
    )


def _same_time(new: datetime | None, stored: datetime) -> bool:
    return new is None or new == stored
