"""Feedback on the wire (API.md §2.6–2.9, §3.6)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from convoscope.schemas.common import (
    JsonObject,
    NonEmptyId,
    Timestamp,
    UserProperties,
    WireModel,
)
from convoscope.schemas.conversations import ConversationOut, MessageOut

FeedbackType = Literal["positive", "negative"]


class Reason(WireModel):
    """Why the user rated the answer so, e.g. ``{"label": "inaccurate", "details": "…"}``."""

    label: str
    details: str


class FeedbackSource(WireModel):
    """The user's verdict on one source the answer cited."""

    type: Literal["positive", "negative", "new"] | None
    title: str | None = None
    url: str | None = None


class LogFeedbackRequestBody(WireModel):
    id: NonEmptyId | None = None
    type: FeedbackType
    messageId: NonEmptyId
    createdAt: Timestamp = None
    updatedAt: Timestamp = None
    reasons: list[Reason] | None = None
    details: str | None = None
    properties: JsonObject | None = None
    userProperties: UserProperties | None = None
    sources: list[FeedbackSource] | None = None


class FeedbackOut(BaseModel):
    id: str
    type: FeedbackType
    messageId: str
    createdAt: str
    updatedAt: str
    reasons: list[Reason] | None = None
    details: str | None = None
    properties: JsonObject | None = None
    userProperties: UserProperties | None = None
    sources: list[FeedbackSource] | None = None


class FeedbackWithContext(FeedbackOut):
    """Feedback with the full conversation and the rated message."""

    conversation: ConversationOut
    message: MessageOut


class GetAllFeedbackResponse(BaseModel):
    positiveFeedbackCount: int = Field(description="Positive feedback in the whole project.")
    negativeFeedbackCount: int = Field(description="Negative feedback in the whole project.")
    positiveFeedback: list[FeedbackWithContext]
    negativeFeedback: list[FeedbackWithContext]
