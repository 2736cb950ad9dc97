"""Building blocks shared by every resource: timestamps, properties, links."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from convoscope.sql import INT64_MAX, INT64_MIN, check_document
from convoscope.timestamps import parse_timestamp


def format_timestamp(value: datetime) -> str:
    """``2025-03-01T09:30:00.000Z``: what JavaScript's ``toISOString()`` produces."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # datetime's own C isoformat, milliseconds truncated as toISOString does, its
    # "+00:00" spelled "Z": 1.0 µs against 1.4 µs formatted by hand, and an answer holds
    # two for every message of the conversation.
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


Timestamp = Annotated[
    datetime | None,
    BeforeValidator(parse_timestamp),
    PlainSerializer(lambda v: format_timestamp(v) if v else None, return_type=str | None),
    Field(json_schema_extra={"type": "string", "format": "date-time"}),
]

NonEmptyId = Annotated[str, Field(min_length=1, max_length=512)]

# A JSON object as sent: any keys and values the databases can store (json_values.py).
JsonObject = Annotated[dict[str, Any], AfterValidator(check_document)]
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]


class WireModel(BaseModel):
    """Base of request models: unknown keys are ignored, as the API promises."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class UserProperties(BaseModel):
    """Who the user is. Well-known keys are type-checked; any other key is kept as sent."""

    model_config = ConfigDict(extra="allow")

    id: str | Int64 | None = Field(None, description="User identifier (often an anonymous id).")
    identificationType: str | None = Field(None, description="How the user was identified.")
    userId: str | Int64 | None = Field(None, description="User identifier from a copilot.")
    supportAgentName: str | None = None
    supportAgentEmail: str | None = None
    userType: str | None = None

    @model_validator(mode="after")
    def _check_extra_keys(self) -> UserProperties:
        if self.__pydantic_extra__:
            check_document(self.__pydantic_extra__)
        return self


class Link(WireModel):
    """A source cited by a message."""

    url: str
    label: str | None = None
    title: str | None = None
    description: str | None = None
    type: str | None = Field(None, description="documentation, site, github_issue, … or any.")
    breadcrumbs: list[str] | None = None


def dump_user_properties(value: UserProperties | None) -> JsonObject | None:
    """The user properties as sent: known keys that were given, and every extra key."""
    if value is None:
        return None
    return value.model_dump(exclude_unset=True)


def dump_links(value: list[Link] | None) -> list[JsonObject] | None:
    if value is None:
        return None
    return [link.model_dump(exclude_unset=True) for link in value]
