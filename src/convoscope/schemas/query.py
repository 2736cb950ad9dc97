"""The query DSL on the wire (API.md §2.11–2.22, §4).

Field names are plain strings here and checked against the resource's enum by
``convoscope.query.parse``, which knows the resource and names the place at fault. The
``where`` tree is kept as sent and parsed there too, with a depth limit.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from convoscope.schemas.common import WireModel

Aggregation = Literal["sum", "count", "countDistinct", "avg", "min", "max"]
TimeUnit = Literal["hour", "day", "week", "month"]
PropertyField = Literal["properties", "userProperties"]
View = Literal["events_view", "conversations_view", "semantic_threads_view", "feedback_view"]

MAX_PATH = 32
Path = Annotated[list[Annotated[str, Field(max_length=1000)]], Field(max_length=MAX_PATH)]


class FieldSelection(WireModel):
    """A field, or the JSON value at ``path`` inside it. Output key ``F`` or ``F.p1.p2``."""

    type: Literal["field"]
    field: str
    path: Path | None = None
    mode: Literal["unpack", "json"] | None = Field(
        None, description="For exports: one column per JSON key (unpack) or one JSON column."
    )


class AggregationSelection(WireModel):
    """An aggregate. Output key ``A``, ``A_F`` or ``A_F.p1.p2``."""

    type: Literal["aggregation"]
    aggregation: Aggregation
    field: str | None = None
    path: Path | None = None


class TimeSelection(WireModel):
    """A UTC time bucket (weeks start on Monday). Output key ``F_U``."""

    type: Literal["time"]
    timeUnit: TimeUnit
    field: str | None = None


Selection = Annotated[
    FieldSelection | AggregationSelection | TimeSelection, Field(discriminator="type")
]


class GroupBy(WireModel):
    """A grouping dimension: a field, or the JSON value at ``path`` inside it."""

    field: str
    path: Path | None = None
    includeInSelect: bool = True


class OrderBy(WireModel):
    """An output key (or, ungrouped, a field) to sort the rows by."""

    field: str
    direction: Literal["asc", "desc"]


class QueryRequest(WireModel):
    """A query over one resource. Every key is optional: ``{}`` returns raw rows."""

    select: Annotated[list[Selection], Field(max_length=100)] | None = None
    groupBy: Annotated[list[GroupBy], Field(max_length=32)] | None = None
    where: dict[str, Any] | None = Field(
        None, description="A filter tree: {condition: …}, {and: […]} or {or: […]}."
    )
    orderBy: Annotated[list[OrderBy], Field(max_length=32)] | None = None
    notes: str | None = Field(None, max_length=80, description="Free text; no effect.")


class QueryConversationsRequestBody(QueryRequest):
    """A query over conversations. Every key is optional: ``{}`` returns raw rows."""


class QueryEventsRequestBody(QueryRequest):
    """A query over events. Every key is optional: ``{}`` returns raw rows."""


class QueryFeedbackRequestBody(QueryRequest):
    """A query over feedback. Every key is optional: ``{}`` returns raw rows."""


class QuerySemanticThreadsRequestBody(QueryRequest):
    """A query over semantic threads, with an optional text search. Every key is
    optional: ``{}`` returns raw rows."""

    query: str | None = Field(
        None,
        max_length=1000,
        description="Case-insensitive text search in question, answer, subject and gap.",
    )


class QueryResponseData(BaseModel):
    result: list[dict[str, Any]]
    total: int = Field(description="Rows matching the query, all pages.")
    pageSize: int = Field(description="Most rows one response carries (1000).")
    count: int = Field(description="Rows in this response.")


class QueryResponseBody(BaseModel):
    status: Literal["ok"]
    data: QueryResponseData


class PropertyKeysRequestBody(WireModel):
    """Which JSON field's top-level keys to list, over which views and rows."""

    field: PropertyField
    views: list[View] | None = None
    where: dict[str, Any] | None = None


class PropertyValuesRequestBody(WireModel):
    """Which key of which JSON field to list the values of, most frequent first."""

    field: PropertyField
    key: Annotated[str, Field(max_length=1000)]
    views: list[View] | None = None
    where: dict[str, Any] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class PropertyResults(BaseModel):
    results: list[str]


class SearchQueryCount(BaseModel):
    search_query: str
    count: str = Field(description="A stringified integer.")


class TopSearchQueriesData(BaseModel):
    result: list[SearchQueryCount]
    total: int


class TopSearchQueriesResponse(BaseModel):
    data: TopSearchQueriesData


class WeeklyUsers(BaseModel):
    week: str
    unique_users: str = Field(description="A stringified integer.")


class WeeklySearchUsersData(BaseModel):
    result: list[WeeklyUsers]
    total: int


class WeeklySearchUsersResponse(BaseModel):
    data: WeeklySearchUsersData
