"""The dashboard's counts read from the summaries the write path keeps (store/summaries.py).

A window's whole UTC days are read from the summary tables, a few rows a day; the hours
before its first whole day and after its last (a 7-day view ends at the next full hour)
are left to the DSL queries, as before. So every figure equals the DSL's answer for the
whole window, and reading 30 days costs about what reading one did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, distinct, func, select, union
from sqlalchemy.sql.elements import ColumnElement

from convoscope.store.summaries import NONE, UNKNOWN, user_key
from convoscope.store.tables import (
    conversation_days,
    conversations,
    feedback_days,
    thread_days,
    user_days,
)
from convoscope.web.window import Window

Days = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Split:
    """A window as whole UTC days ``[first, last)`` (None: not one whole day) and the
    parts of it outside them."""

    days: Days | None
    edges: tuple[Window, ...]


def split(window: Window, *, enabled: bool = True) -> Split:
    """``enabled=False`` leaves the whole window to the DSL (for comparing the two)."""
    first = _day_start(window.start)
    if first < window.start:
        first += timedelta(days=1)
    last = _day_start(window.end)
    if not enabled or first >= last:
        return Split(None, (window,))
    edges = tuple(
        Window(start, end, window.integration)
        for start, end in ((window.start, first), (last, window.end))
        if start < end
    )
    return Split((first.date().isoformat(), last.date().isoformat()), edges)


def _day_start(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def bucket(day: str) -> str:
    """A summary day as the DSL names its day bucket."""
    return f"{day}T00:00:00.000Z"


def _where(table: Table, project_id: str, days: Days, integration: str | None) -> list[Any]:
    where = [table.c.project_id == project_id, table.c.day >= days[0], table.c.day < days[1]]
    if integration:
        where.append(table.c.integration_id == integration)
    return where


def conversations_per_day(
    conn: Connection, project_id: str, days: Days, integration: str | None
) -> dict[str, int]:
    t = conversation_days
    rows = conn.execute(
        select(t.c.day, func.sum(t.c.conversations))
        .where(*_where(t, project_id, days, integration))
        .group_by(t.c.day)
    )
    return {bucket(day): int(n) for day, n in rows}


def feedback_per_day(
    conn: Connection, project_id: str, days: Days, integration: str | None
) -> dict[tuple[str, str], int]:
    """``{(day bucket, type): feedback}``."""
    t = feedback_days
    rows = conn.execute(
        select(t.c.day, t.c.type, func.sum(t.c.feedback))
        .where(*_where(t, project_id, days, integration))
        .group_by(t.c.day, t.c.type)
    )
    return {(bucket(day), kind): int(n) for day, kind, n in rows}


# The thread summary's columns by the DSL field each stands for.
THREAD_GROUPS = {
    "category": "category",
    "sentiment": "sentiment",
    "isDocumented": "documented",
    "isAnswerConfident": "confident",
}


def thread_counts(
    conn: Connection, project_id: str, days: Days, integration: str | None, by: Sequence[str]
) -> list[dict[str, Any]]:
    """Questions grouped by the DSL fields ``by``, as the DSL names values (None for
    unknown), with ``count`` and the threads with ``positive`` and ``negative`` feedback."""
    t = thread_days
    columns = [t.c[THREAD_GROUPS[name]] for name in by]
    rows = conn.execute(
        select(
            *columns,
            func.sum(t.c.questions),
            func.sum(t.c.positive),
            func.sum(t.c.negative),
        )
        .where(*_where(t, project_id, days, integration))
        .group_by(*columns)
    )
    out = []
    for row in rows:
        values = dict(zip(by, row[: len(by)], strict=True))
        for name, value in values.items():
            if THREAD_GROUPS[name] in ("documented", "confident"):
                values[name] = None if value == UNKNOWN else bool(value)
            else:
                values[name] = None if value == NONE else value
        count, positive, negative = (int(v) for v in row[len(by) :])
        out.append({**values, "count": count, "positive": positive, "negative": negative})
    return out


def unique_users(conn: Connection, project_id: str, window: Window, parts: Split) -> int:
    """Distinct userProperties.id of the window's conversations: the summary's keys over
    its whole days and the conversations' own outside them, counted once each."""
    assert parts.days is not None
    selects: list[Any] = [
        select(user_days.c.user_key.label("u")).where(
            *_where(user_days, project_id, parts.days, window.integration)
        )
    ]
    c = conversations.c
    for edge in parts.edges:
        key: ColumnElement[Any] = user_key()
        where = [
            c.project_id == project_id,
            c.first_message_time >= edge.start,
            c.first_message_time < edge.end,
            key.is_not(None),
        ]
        if window.integration:
            where.append(c.integration_id == window.integration)
        selects.append(select(key.label("u")).where(*where))
    if len(selects) == 1:
        only = select(func.count(distinct(user_days.c.user_key))).where(
            *_where(user_days, project_id, parts.days, window.integration)
        )
        return int(conn.execute(only).scalar_one())
    everyone = union(*selects).subquery()  # UNION keeps each key once
    return int(conn.execute(select(func.count()).select_from(everyone)).scalar_one())
