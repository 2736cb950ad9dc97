"""The two search reports of the dashboard (API.md §2.21–2.22), over search events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, distinct, func, select
from sqlalchemy.sql.elements import ColumnElement

from convoscope.query.sql import BucketText, JsonValue, TimeBucket
from convoscope.store.tables import events

TOP_SEARCH_QUERIES = 100


def _search_events(project_id: str, after: datetime | None) -> ColumnElement[bool]:
    condition = and_(events.c.project_id == project_id, events.c.entity_type == "search")
    if after is not None:
        condition = and_(condition, events.c.created_at >= after)
    return condition


def top_search_queries(
    conn: Connection, project_id: str, after: datetime | None
) -> list[dict[str, str]]:
    """The most frequent search queries, counts as strings (the SDK requires them so)."""
    n = func.count().label("n")
    statement = (
        select(events.c.search_query, n)
        .where(_search_events(project_id, after), events.c.search_query.is_not(None))
        .group_by(events.c.search_query)
        .order_by(n.desc(), events.c.search_query.asc())
        .limit(TOP_SEARCH_QUERIES)
    )
    return [
        {"search_query": query, "count": str(count)} for query, count in conn.execute(statement)
    ]


def weekly_search_users(
    conn: Connection, project_id: str, after: datetime | None
) -> list[dict[str, str]]:
    """Distinct searching users per UTC week (Monday first); the user is
    ``userProperties.id``, or ``userProperties.userId`` when there is no id."""
    user = func.coalesce(
        JsonValue(events.c.user_properties, ("id",)),
        JsonValue(events.c.user_properties, ("userId",)),
    )
    inner = (
        select(TimeBucket(events.c.created_at, "week").label("week"), user.label("user"))
        .where(_search_events(project_id, after))
        .subquery("q")
    )
    statement = (
        select(BucketText(inner.c.week, "week"), func.count(distinct(inner.c.user)))
        .group_by(inner.c.week)
        .order_by(inner.c.week.asc())
    )
    return [{"week": week, "unique_users": str(users)} for week, users in conn.execute(statement)]
