"""What the dashboard's data calls return (``/dashboard/api/...``; ours, not Inkeep's).

Every call takes the view in its query string: ``project`` (id; the first of the
signed-in person's projects when left out), ``range`` (24h, 7d, 30d, 90d or custom with
``from`` and ``to`` as YYYY-MM-DD) and ``integration``. It answers for the signed-in
person's session cookie only, and a project they are not a member of is not found.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class DashboardCard(BaseModel):
    key: str
    label: str
    value: float | None = Field(description="The window's value; null when undefined (0/0).")
    previous: float | None = Field(description="The value in the period just before.")
    change: float | None = Field(
        description="Relative change for counts, difference of shares for shares."
    )
    format: str = Field(description="n (a count) or share (a fraction of 1).")


class DashboardCards(BaseModel):
    """The overview's headline numbers."""

    cards: list[DashboardCard]


class DashboardDataset(BaseModel):
    label: str
    data: list[float]


class DashboardChart(BaseModel):
    """One chart: labels (bucket starts as ISO times, or category names) and series."""

    title: str
    type: str = Field(description="line, bar or doughnut.")
    labels: list[Any]
    datasets: list[DashboardDataset]
    x: str | None = Field(None, description="The x axis title.")
    y: str | None = Field(None, description="The y axis title.")
    unit: str | None = Field(None, description="hour or day, for time series.")
    stacked: bool = False
    horizontal: bool = False


class DashboardTable(BaseModel):
    """Rows to show in a table, with their columns."""

    columns: list[dict[str, Any]] = Field(default_factory=list)
    rows: list[dict[str, Any]]


class DashboardConversationPage(BaseModel):
    """One page of conversations, newest first; each with its first question."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    pageSize: int


class DashboardGaps(BaseModel):
    """Documentation gaps grouped by subject, most asked first."""

    kinds: list[dict[str, str]]
    rows: list[dict[str, Any]]


class DashboardSearch(BaseModel):
    """Top search queries and weekly searching users since the window's start."""

    top: list[dict[str, str]]
    weekly: list[dict[str, str]]


class DashboardConversation(BaseModel):
    """A conversation's messages with the feedback and events on each, and its threads."""

    id: str
    type: str
    integrationId: str | None
    createdAt: str
    properties: dict[str, Any] | None
    userProperties: dict[str, Any] | None
    messages: list[dict[str, Any]]
    conversationEvents: list[dict[str, Any]]
    threads: list[dict[str, Any]]
