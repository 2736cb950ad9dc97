"""Every query runs under the time limit: a runaway statement stops with QueryTimeout
(422, which the SDK does not retry) instead of holding a reader thread."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text

from convoscope.errors import QueryTimeout
from convoscope.query.execute import time_limit

_SLOW = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 100000000) SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(5)",
}


def test_a_slow_query_stops_at_the_time_limit(engine: Engine, dialect: str) -> None:
    started = time.monotonic()
    with engine.connect() as conn, pytest.raises(QueryTimeout) as caught:
        with time_limit(conn, 0.2):
            conn.execute(text(_SLOW[dialect]))
    assert time.monotonic() - started < 3
    assert caught.value.status == 422
    assert "0.2 seconds" in caught.value.detail


def test_the_limit_does_not_outlive_its_block(engine: Engine) -> None:
    with engine.connect() as conn:
        with time_limit(conn, 5):
            assert conn.execute(text("SELECT 1")).scalar() == 1
        conn.rollback()
        assert conn.execute(text("SELECT 2")).scalar() == 2


def test_time_spent_outside_a_statement_counts_against_the_limit(
    engine: Engine, dialect: str
) -> None:
    # Building and preparing a large query's SQL took seconds before its first statement
    # step, where a progress handler or statement_timeout first looks at the clock.
    started = time.monotonic()
    with engine.connect() as conn, pytest.raises(QueryTimeout):
        with time_limit(conn, 0.2):
            time.sleep(0.4)  # as a compiler building SQL would, holding the thread
            conn.execute(text(_SLOW[dialect]))
    assert time.monotonic() - started < 3


def test_a_quick_query_after_a_watchdog_interrupt_still_runs(engine: Engine) -> None:
    with engine.connect() as conn:
        with pytest.raises(QueryTimeout), time_limit(conn, 0.1):
            time.sleep(0.3)
        conn.rollback()
        for _ in range(3):
            with time_limit(conn, 5):
                assert conn.execute(text("SELECT 1")).scalar() == 1
            conn.rollback()
