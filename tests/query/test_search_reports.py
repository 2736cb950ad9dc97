"""The two search reports over the generated columns of migration 0005: their answers at
the edges, and (on SQLite) that they read the partial search indexes, not the table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert

from convoscope.query import top_search_queries, weekly_search_users
from convoscope.store.tables import events

PROJECT = "p_search"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


EVENTS: list[tuple[str, str, str, Any]] = [
    # (entity type, query, time, user properties)
    ("search", "rotate key", "2025-03-02 23:59:59.999999", {"id": "a"}),  # a Sunday
    ("search", "rotate key", "2025-03-03 00:00:00", {"id": "a"}),  # the next Monday
    ("search", "billing", "2025-03-04 10:00:00", {"id": 1}),
    ("search", "billing", "2025-03-05 10:00:00", {"id": "1"}),  # not the user 1
    ("search", "billing", "2025-03-06 10:00:00", {"id": None, "userId": 7}),
    ("search", "ask", "2025-03-07 10:00:00", {"userId": 7}),
    ("search", "ask", "2025-03-08 10:00:00", None),  # nobody: not counted
    ("search", "ask", "2025-03-09 10:00:00", {"name": "x"}),
    ("message", "ignored", "2025-03-04 10:00:00", {"id": "m"}),
]


@pytest.fixture
def searched(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.execute(
            insert(events),
            [
                {
                    "project_id": project,
                    "id": f"e{i}",
                    "entity_type": kind,
                    "type": "search_query_submitted",
                    "organization_id": "o",
                    "search_query": query,
                    "user_properties": user,
                    "created_at": at(time),
                }
                for i, (kind, query, time, user) in enumerate(EVENTS)
                for project in (PROJECT, "p_other")
            ],
        )
    return engine


def test_weekly_users_start_weeks_on_monday_and_fall_back_to_user_id(searched: Engine) -> None:
    with searched.connect() as conn:
        assert weekly_search_users(conn, PROJECT, None) == [
            {"week": "2025-02-24T00:00:00.000Z", "unique_users": "1"},
            {"week": "2025-03-03T00:00:00.000Z", "unique_users": "4"},
        ]
        assert weekly_search_users(conn, PROJECT, at("2025-03-05 00:00:00")) == [
            {"week": "2025-03-03T00:00:00.000Z", "unique_users": "2"},
        ]


def test_both_reports_end_where_the_period_ends(searched: Engine) -> None:
    """The dashboard's Search page has a start and an end, as every page does."""
    with searched.connect() as conn:
        after, before = at("2025-03-03 00:00:00"), at("2025-03-06 10:00:00")
        assert weekly_search_users(conn, PROJECT, after, before) == [
            {"week": "2025-03-03T00:00:00.000Z", "unique_users": "3"},
        ]
        assert top_search_queries(conn, PROJECT, after, before) == [
            {"search_query": "billing", "count": "2"},
            {"search_query": "rotate key", "count": "1"},
        ]
        assert weekly_search_users(conn, PROJECT, None, at("2025-03-03 00:00:00")) == [
            {"week": "2025-02-24T00:00:00.000Z", "unique_users": "1"},
        ]


def test_top_queries_count_search_events_only(searched: Engine) -> None:
    with searched.connect() as conn:
        assert top_search_queries(conn, PROJECT, None) == [
            {"search_query": "ask", "count": "3"},
            {"search_query": "billing", "count": "3"},
            {"search_query": "rotate key", "count": "2"},
        ]


@pytest.fixture
def statements(searched: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        seen.append((args[2], args[3]))

    event.listen(searched, "before_cursor_execute", record)
    yield seen
    event.remove(searched, "before_cursor_execute", record)


WEEK_INDEX = "ix_events_project_id_created_week_user_identity_created_at"
QUERY_INDEX = "ix_events_project_id_search_query_created_at"


# Without statistics (the server runs no ANALYZE), top search queries with ``after`` take
# the created_at index: that choice is SQLite's, and not pinned here.
@pytest.mark.parametrize(
    ("report", "index", "after"),
    [
        (weekly_search_users, WEEK_INDEX, None),
        (weekly_search_users, WEEK_INDEX, at("2025-03-05 00:00:00")),
        (top_search_queries, QUERY_INDEX, None),
    ],
)
def test_sqlite_reads_the_search_index_alone(
    searched: Engine,
    statements: list[tuple[str, Any]],
    dialect: str,
    report: Any,
    index: str,
    after: datetime | None,
) -> None:
    if dialect != "sqlite":
        pytest.skip("PostgreSQL's choice depends on its statistics and vacuum state")
    with searched.connect() as conn:
        report(conn, PROJECT, after)
        sql, params = statements[-1]
        plan = " | ".join(
            row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
        )
    assert f"USING INDEX {index}" in plan or f"USING COVERING INDEX {index}" in plan, plan
    if report is weekly_search_users:
        # Read in week order: no sort, and no table row (a deferred seek never happens).
        assert "TEMP B-TREE" not in plan, plan
