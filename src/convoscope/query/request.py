"""What the compiler reads of a request: the shape of the DSL's request models
(``convoscope.schemas.query``), named here so the query part needs no wire model.

The request has been validated against its model before (``convoscope.api.bodies``);
``parse_query`` then checks every name and value against the resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol


class FieldSelection(Protocol):
    @property
    def type(self) -> Literal["field"]: ...
    @property
    def field(self) -> str: ...
    @property
    def path(self) -> Sequence[str] | None: ...
    @property
    def mode(self) -> Literal["unpack", "json"] | None: ...


class AggregationSelection(Protocol):
    @property
    def type(self) -> Literal["aggregation"]: ...
    @property
    def aggregation(self) -> str: ...
    @property
    def field(self) -> str | None: ...
    @property
    def path(self) -> Sequence[str] | None: ...


class TimeSelection(Protocol):
    @property
    def type(self) -> Literal["time"]: ...
    @property
    def timeUnit(self) -> str: ...
    @property
    def field(self) -> str | None: ...


Selection = FieldSelection | AggregationSelection | TimeSelection


class GroupBy(Protocol):
    @property
    def field(self) -> str: ...
    @property
    def path(self) -> Sequence[str] | None: ...
    @property
    def includeInSelect(self) -> bool: ...


class OrderBy(Protocol):
    @property
    def field(self) -> str: ...
    @property
    def direction(self) -> str: ...


class QueryRequest(Protocol):
    """A query over one resource; a semantic threads request may carry a text ``query``
    too, read with ``search_text``."""

    @property
    def select(self) -> Sequence[Selection] | None: ...
    @property
    def groupBy(self) -> Sequence[GroupBy] | None: ...
    @property
    def where(self) -> dict[str, Any] | None: ...
    @property
    def orderBy(self) -> Sequence[OrderBy] | None: ...


def search_text(request: QueryRequest) -> str | None:
    text = getattr(request, "query", None)
    return text if isinstance(text, str) else None
