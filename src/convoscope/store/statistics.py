"""Planner statistics kept fresh while a database grows.

Both planners pick indexes from table statistics, and without them they picked badly:

- SQLite never gathers statistics on its own. Without them it read a whole project
  through an index, one table row at a time (at 1,000,000 conversations: top
  user-property values 3.6 s instead of 0.86 s, a ``jsonContains`` count 2.0 s instead
  of 0.29 s, feedback per week 0.62 s instead of 0.16 s).
- PostgreSQL's autovacuum analyzes a table within about a minute of its first rows.
  Until then it looked conversations up by id through the (project_id, type,
  integration_id) index, reading every conversation of the project on each upsert.

So the server refreshes them itself, whenever the writes since the last refresh have
doubled the writes before it: at 1,000 writes, 2,000, 4,000 and so on. That is often
while a database is young and its shape changes fast, and rarely once it is large. A
database that holds data without statistics (one made before this, or restored) is
refreshed at start.

- SQLite: a full ANALYZE, run as a write because it writes ``sqlite_stat1``, one table
  per transaction so that logged conversations commit in between (5.1 s for all the
  tables at 1,000,000 conversations). A sampled one (``analysis_limit`` at 400, 2,000
  or 10,000 rows) took no time but misled the planner as much as none: top user-property
  values 2.5–2.8 s, against 0.79 s after a full one.
- PostgreSQL: ANALYZE (which samples well) on a connection of its own, so writes go on
  meanwhile; autovacuum keeps the statistics fresh afterwards. The writes counted are
  the rows every server process on the database wrote to ``TABLES``
  (``pg_stat_user_tables``): the upkeep runs in one process at a time, and counting its
  own process's writes only, it refreshed late or never while the others took the
  load. Meanwhile the writers' cached plans, made on an empty table, probed a new
  message's id by reading every message of its project (``bench/scale.py``: 0.2 ms a
  conversation with one process, 0.5 to 2.2 ms with two).
"""

from __future__ import annotations

import logging
from functools import partial

from sqlalchemy import Connection, bindparam, text

from convoscope.lifecycle import Service
from convoscope.store.database import Database
from convoscope.store.engine import Dialect

log = logging.getLogger(__name__)

# The tables requests write to and queries read from.
TABLES = ("conversations", "messages", "feedback", "events", "semantic_threads")


def refresh_statistics(conn: Connection) -> None:
    """Gather fresh statistics for every table of ``TABLES``, committing each."""
    for table in TABLES:
        analyze(conn, table)


def analyze(conn: Connection, table: str) -> None:
    analyze_in_writer(conn, table)
    conn.commit()


def analyze_in_writer(conn: Connection, table: str) -> None:
    """ANALYZE as a job of the writer, which commits it with the rest of its batch.

    A job must not commit: a commit inside it ended the savepoint the writer fences each
    job with after another job of the batch failed, and every write of the batch was then
    answered 500 (schemathesis found it, a feedback on an unknown message in the batch).
    """
    conn.exec_driver_sql(f"ANALYZE {table}")


def rows_written(conn: Connection) -> int:
    """Rows inserted, updated and deleted in ``TABLES`` on PostgreSQL by every process,
    since its statistics were last reset (as reported: each backend flushes its counts
    at most about once a second)."""
    return int(
        conn.execute(
            text(
                "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)"
                " FROM pg_stat_user_tables"
                " WHERE schemaname = current_schema() AND relname IN :tables"
            ).bindparams(bindparam("tables", expanding=True)),
            {"tables": list(TABLES)},
        ).scalar_one()
    )


def lacks_statistics(conn: Connection) -> bool:
    """Whether a table holds rows the planner has no statistics for."""
    analyzed = _analyzed_tables(conn)
    return any(
        table not in analyzed
        and conn.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None
        for table in TABLES
    )


def _analyzed_tables(conn: Connection) -> set[str]:
    if conn.dialect.name == Dialect.SQLITE:
        if not conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        ).first():
            return set()
        query = "SELECT tbl FROM sqlite_stat1"
    else:
        # Column statistics, not row counts: a VACUUM counts rows but leaves these empty.
        query = "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"
    return {str(name) for (name,) in conn.execute(text(query))}


class StatisticsUpkeep(Service):
    """Refreshes statistics as the writes double; started and stopped with the server."""

    name = "refreshing planner statistics"

    def __init__(self, db: Database, *, first_after: int = 1000, poll_seconds: float = 2.0) -> None:
        # A failed refresh waits for the writes to double again, as one that succeeded.
        super().__init__(interval=poll_seconds, retry=poll_seconds, retry_max=60.0)
        self._db = db
        self._first_after = first_after
        self._due_at = first_after
        self._seen = 0
        self._checked = False
        self.refreshes = 0

    async def refresh(self) -> None:
        if self._db.dialect == Dialect.SQLITE:
            for table in TABLES:  # one write each: writes queued meanwhile go in between
                await self._db.write(partial(analyze_in_writer, table=table))
        else:
            await self._db.read(refresh_statistics)
        self.refreshes += 1

    async def step(self) -> None:
        if not self._checked:  # at start: a database that holds data without statistics
            if await self._db.read(lacks_statistics):
                await self.refresh()
            self._checked = True
            return
        if self._db.dialect == Dialect.SQLITE:  # one process writes: its writer's count
            written = self._db.writer.jobs
        else:
            written = await self._db.read(rows_written)
        if written < self._seen:  # the counts were reset (pg_stat_reset, a crash)
            self._due_at = written + self._first_after
        self._seen = written
        if written < self._due_at:
            return
        self._due_at = max(2 * written, written + self._first_after)
        await self.refresh()
