"""The inputs of the tools whose HTTP operation takes no body: the request objects the
Inkeep SDK passes (``{limit, offset}``, ``{id}``, …) and those of our own tools.

The query tools take the DSL's request models from ``schemas/query.py`` as they are.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import Field

from convoscope.schemas import NonEmptyId, Timestamp, WireModel
from convoscope.sql import INT64_MAX


class ConversationPageRequest(WireModel):
    """One page of the project's conversations, newest first."""

    limit: Annotated[int, Field(ge=0, le=100)] | None = Field(
        20, description="Conversations on the page (0 to 100)."
    )
    offset: Annotated[int, Field(ge=0, le=INT64_MAX)] | None = Field(
        0, description="Conversations to skip."
    )


class FeedbackPageRequest(WireModel):
    """One page of the project's feedback, newest first, split by type."""

    limit: Annotated[int, Field(ge=0, le=100)] | None = Field(
        10, description="Feedback on the page (0 to 100)."
    )
    offset: Annotated[int, Field(ge=0, le=INT64_MAX)] | None = Field(
        0, description="Feedback to skip."
    )


class ExternalIdRequest(WireModel):
    externalId: NonEmptyId = Field(description="The id the conversation has in your system.")


class FeedbackIdRequest(WireModel):
    id: NonEmptyId = Field(description="The feedback's id.")


class SearchReportRequest(WireModel):
    """Search events of the project, from ``after`` on."""

    after: str | None = Field(
        None, description="Lower time bound, an ISO-8601 date or date-time (UTC)."
    )
    projectId: str | None = Field(
        None, description="The project; when given it must be the key's own."
    )


class ConversationGetRequest(WireModel):
    id: NonEmptyId = Field(description="The conversation's id.")


DEFAULT_DAYS = 30


class RangeRequest(WireModel):
    """A time range over the questions' first message time; the last 30 days by default."""

    after: Timestamp = Field(
        None, description="Start, inclusive (ISO-8601 date-time); default 30 days before end."
    )
    before: Timestamp = Field(None, description="End, exclusive (ISO-8601 date-time); default now.")
    integrationId: str | None = Field(None, description="Only this integration's questions.")

    def bounds(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        end = self.before or now or datetime.now(UTC)
        start = self.after or end - timedelta(days=DEFAULT_DAYS)
        return start, end
