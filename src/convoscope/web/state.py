"""The view a dashboard URL describes: project, time range, integration, list filters.

All of it lives in the query string, so a view can be bookmarked and shared; every link
and data call of a page carries it on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from convoscope.errors import InvalidInput
from convoscope.web.listing import FEEDBACK_CHOICES, ConversationFilter
from convoscope.web.window import Window

RANGES = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
DEFAULT_RANGE = "7d"
_FILTERS = ("type", "category", "sentiment", "language", "feedback", "q")


@dataclass(frozen=True, slots=True)
class ViewState:
    project: str | None
    range: str
    start: date | None
    end: date | None
    integration: str | None
    filters: tuple[tuple[str, str], ...] = ()
    page: int = 1

    def window(self, now: datetime | None = None) -> Window:
        """The time window: the last 24 h / 7 / 30 / 90 days up to the next full hour, or
        the custom days from ``start`` to ``end``, both included."""
        if self.range == "custom" and self.start and self.end:
            begin = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)
            finish = datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC)
            return Window(begin, finish + timedelta(days=1), self.integration)
        now = now or datetime.now(UTC)
        finish = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return Window(finish - RANGES[self.range], finish, self.integration)

    def conversation_filter(self) -> ConversationFilter:
        f = dict(self.filters)
        return ConversationFilter(
            type=f.get("type"),
            category=f.get("category"),
            sentiment=f.get("sentiment"),
            language=f.get("language"),
            feedback=f.get("feedback"),
            text=f.get("q"),
        )

    def query(self, *, with_filters: bool = False, **changes: str | int | None) -> str:
        """The query string of this view (``?…``), with ``changes`` applied."""
        pairs: dict[str, str | int | None] = {
            "project": self.project,
            "range": self.range,
            "from": self.start.isoformat() if self.start and self.range == "custom" else None,
            "to": self.end.isoformat() if self.end and self.range == "custom" else None,
            "integration": self.integration,
        }
        if with_filters:
            pairs.update(dict(self.filters))
            pairs["page"] = self.page if self.page > 1 else None
        pairs.update(changes)
        kept = {k: str(v) for k, v in pairs.items() if v not in (None, "")}
        return "?" + urlencode(kept) if kept else ""

    def with_project(self, project_id: str) -> ViewState:
        return replace(self, project=project_id)


def parse_state(params: QueryParams) -> ViewState:
    """The view of a request; a bad value is a 400 naming the parameter."""
    chosen = params.get("range") or DEFAULT_RANGE
    if chosen not in (*RANGES, "custom"):
        raise InvalidInput("range must be 24h, 7d, 30d, 90d or custom", field="range")
    start, end = _day(params, "from"), _day(params, "to")
    if chosen == "custom":
        if start is None or end is None:
            raise InvalidInput("a custom range needs from and to (YYYY-MM-DD)", field="from")
        if end < start:
            raise InvalidInput("to must not be before from", field="to")
        if (end - start).days > 3660:
            raise InvalidInput("a custom range may span at most ten years", field="to")
    filters = tuple((k, params[k]) for k in _FILTERS if params.get(k))
    feedback = dict(filters).get("feedback")
    if feedback is not None and feedback not in FEEDBACK_CHOICES:
        raise InvalidInput("feedback must be positive, negative, any or none", field="feedback")
    if any(len(v) > 500 for _, v in filters):
        raise InvalidInput("a filter value may have at most 500 characters")
    page_text = params.get("page") or "1"
    if not page_text.isdigit() or not 1 <= int(page_text) <= 100_000:
        raise InvalidInput("page must be a number from 1", field="page")
    return ViewState(
        project=params.get("project") or None,
        range=chosen,
        start=start,
        end=end,
        integration=params.get("integration") or None,
        filters=filters,
        page=int(page_text),
    )


def _day(params: QueryParams, name: str) -> date | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a day as YYYY-MM-DD; got {value!r}", field=name
        ) from None
