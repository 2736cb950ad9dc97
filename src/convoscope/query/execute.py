"""Running compiled queries: one page of rows and the total, under a time limit.

The limit is enforced by the database, so a slow query stops instead of holding a reader
thread: ``SET LOCAL statement_timeout`` on PostgreSQL, and on SQLite a progress handler
that interrupts the statement once the deadline has passed.

Neither sees all the time a query takes. A 500-condition jsonContainedBy under a 1 s
limit answered after 3 s: SQLAlchemy spent 0.8 s building its 500 KB of SQL, and SQLite
2 s preparing it, before the first virtual-machine step, which is when a progress handler
is first called. So ``time_limit`` also runs a watchdog thread that, from the deadline on,
interrupts whatever statement the connection runs (``sqlite3_interrupt``, which stops a
prepare too; a cancel request on PostgreSQL) until the block ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from convoscope.errors import QueryTimeout
from convoscope.query.compile import CompiledQuery
from convoscope.query.rows import shape_row

PAGE_SIZE = 1000
# How many SQLite virtual-machine steps run between two looks at the clock.
_PROGRESS_STEPS = 10_000

T = TypeVar("T")


@contextmanager
def time_limit(conn: Connection, seconds: float) -> Iterator[None]:
    """Stop any statement of ``conn`` that runs past ``seconds``; raise ``QueryTimeout``."""
    deadline = time.monotonic() + seconds
    set_limit(conn, seconds, lambda: 1 if time.monotonic() > deadline else 0)
    watchdog = _Watchdog(conn.connection.driver_connection, seconds)
    try:
        yield
        if watchdog.fired:  # work outside any statement ran past the deadline
            raise QueryTimeout(seconds)
    except DBAPIError as err:
        if is_timeout(err):
            raise QueryTimeout(seconds) from None
        raise
    finally:
        watchdog.stop()
        clear_limit(conn)


class _Watchdog:
    """From ``seconds`` on, interrupts the connection's statement every few milliseconds
    (one may start after the first interrupt, once Python has built it) until stopped."""

    _EVERY = 0.05

    def __init__(self, driver_connection: Any, seconds: float) -> None:
        self._driver = driver_connection
        self._seconds = seconds
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.fired = False
        self._thread = threading.Thread(target=self._watch, name="query-watchdog", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        if self._stopped.wait(self._seconds):
            return
        while True:
            with self._lock:  # never interrupts after stop(): the connection is reused
                if self._stopped.is_set():
                    return
                self.fired = True
                _interrupt(self._driver)
            if self._stopped.wait(self._EVERY):
                return

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
        self._thread.join()


def _interrupt(driver_connection: Any) -> None:
    if hasattr(driver_connection, "cancel_safe"):  # psycopg
        driver_connection.cancel_safe(timeout=1.0)
    else:  # sqlite3; a no-op when no statement runs
        driver_connection.interrupt()


def set_limit(conn: Connection, seconds: float, passed: Callable[[], int]) -> None:
    """Stop statements of ``conn``: on PostgreSQL each one after ``seconds``; on SQLite
    any, once ``passed()`` returns 1 (asked every ``_PROGRESS_STEPS`` steps)."""
    if conn.dialect.name == "postgresql":
        # LOCAL: the setting ends with this transaction, never leaks to the next user of
        # the pooled connection.
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")
        return
    raw: Any = conn.connection.driver_connection
    raw.set_progress_handler(passed, _PROGRESS_STEPS)


def clear_limit(conn: Connection) -> None:
    """Undo ``set_limit`` on SQLite (PostgreSQL's ends with the transaction)."""
    if conn.dialect.name == "sqlite":
        raw: Any = conn.connection.driver_connection
        raw.set_progress_handler(None, 0)


def is_timeout(err: BaseException) -> bool:
    """Whether ``err`` is a statement stopped by ``set_limit``."""
    if isinstance(err, OperationalError) and "interrupted" in str(err.orig):
        return True
    return isinstance(err, DBAPIError) and getattr(err.orig, "sqlstate", None) == "57014"


def run_limited(conn: Connection, seconds: float, fn: Callable[[Connection], T]) -> T:
    with time_limit(conn, seconds):
        return fn(conn)


def fetch_page(
    conn: Connection, compiled: CompiledQuery, *, page_size: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int]:
    """The first ``page_size`` rows, shaped for the wire, and how many rows match."""
    rows = conn.execute(compiled.statement.limit(page_size)).all()
    shapers = compiled.shapers
    if compiled.has_total_column:
        total = int(rows[0][-1]) if rows else 0
        return [shape_row(shapers, row[:-1]) for row in rows], total
    result = [shape_row(shapers, row) for row in rows]
    if len(rows) < page_size or compiled.count_statement is None:
        return result, len(rows)
    return result, int(conn.execute(compiled.count_statement).scalar_one())
