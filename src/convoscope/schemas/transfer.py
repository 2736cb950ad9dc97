"""The lines of ``convoscope export`` files, which ``convoscope import`` reads back.

An export line holds one conversation as its create body (API.md §2.1, every field
explicit) with its feedback and events as their create bodies, and the annotations of its
semantic threads. Events that belong to no stored conversation (searches) get a line each.
Besides these, the import reads bare create bodies and OpenAI chat lines
(``{"messages": [...]}``), through the API's own request models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, TypeAdapter

from convoscope.schemas.common import NonEmptyId, WireModel
from convoscope.schemas.conversations import CreateConversation
from convoscope.schemas.events import InsertEvent
from convoscope.schemas.feedback import LogFeedbackRequestBody


class ExportedFeedback(LogFeedbackRequestBody):
    """Feedback as logged, with the integration it came through (the API takes that from
    the key)."""

    integrationId: str | None = Field(None, max_length=64)


class ThreadAnnotations(WireModel):
    """An annotator's (or a person's) findings, as ``/query/semantic-threads`` names them.

    No length limits here, unlike a person's verification: these are what was stored.
    """

    model_config = ConfigDict(extra="forbid")

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
    sentiment: str | None = None
    questionType: str | None = None
    areAIAnnotationsVerified: bool | None = None


class ExportedThread(WireModel):
    """The annotation state of one semantic thread; the thread itself is derived again
    from the conversation's messages, so its id must be the one they give."""

    id: NonEmptyId
    status: Literal["pending", "done", "failed"]
    attempts: int = Field(0, ge=0, le=1_000_000)
    error: str | None = None
    annotatedBy: str | None = Field(None, max_length=128)
    verifiedFields: list[str] | None = None
    annotations: ThreadAnnotations = Field(default_factory=ThreadAnnotations)


class ExportLine(WireModel):
    """One conversation with everything that hangs off it."""

    conversation: CreateConversation
    feedback: list[ExportedFeedback] = Field(default_factory=list)
    events: list[InsertEvent] = Field(default_factory=list)
    threads: list[ExportedThread] = Field(default_factory=list)


class EventLine(WireModel):
    """An event of no stored conversation: a search, or one whose conversation is gone."""

    event: InsertEvent


export_line_adapter: TypeAdapter[ExportLine] = TypeAdapter(ExportLine)
event_line_adapter: TypeAdapter[EventLine] = TypeAdapter(EventLine)
