"""The server keeps planner statistics fresh as its tables grow, on both engines."""

from __future__ import annotations

import asyncio
import threading
from functools import partial

import pytest
from sqlalchemy import Connection, Engine, text

from convoscope.errors import ConversationNotFound
from convoscope.store import ConversationIn, Database, MessageIn, Scope, StatisticsUpkeep
from convoscope.store import conversations as store
from convoscope.store.statistics import analyze_in_writer, lacks_statistics, refresh_statistics
from tests.conftest import ProjectKeys
from tests.queued_writes import queue_write


def log_conversations(conn: Connection, scope: Scope, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        store.upsert_conversation(
            conn,
            scope,
            ConversationIn(
                type="openai",
                id=f"conv-{n}",
                messages=[MessageIn(role="user", content=f"question {n}")],
            ),
        )


def find_plan(engine: Engine, scope: Scope) -> str:
    """How the database finds a conversation by id, as an upsert does."""
    explain = "EXPLAIN QUERY PLAN" if engine.dialect.name == "sqlite" else "EXPLAIN"
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"{explain} SELECT type FROM conversations WHERE project_id = :project AND id = :id"
            ),
            {"project": scope.project_id, "id": "conv-7"},
        )
        return " ".join(str(value) for row in rows for value in row)


def test_a_refresh_gathers_statistics_for_tables_with_rows(
    engine: Engine, project: ProjectKeys
) -> None:
    with engine.connect() as conn:
        assert not lacks_statistics(conn)  # empty tables need none
    with engine.begin() as conn:
        log_conversations(conn, project.scope, 2000)
    with engine.connect() as conn:
        assert lacks_statistics(conn)
        refresh_statistics(conn)
    with engine.connect() as conn:
        assert not lacks_statistics(conn)
    # The lookup every upsert makes goes through the primary key, not through an index
    # that only narrows to the project.
    plan = find_plan(engine, project.scope)
    assert "pk_conversations" in plan or "sqlite_autoindex_conversations_1" in plan, plan


async def test_the_server_refreshes_as_writes_double(db: Database, project: ProjectKeys) -> None:
    async with StatisticsUpkeep(db, first_after=20, poll_seconds=0.02) as upkeep:
        await asyncio.sleep(0.1)
        assert upkeep.refreshes == 0  # nothing stored: nothing to refresh
        for n in range(25):  # one write each
            await db.write(partial(log_conversations, scope=project.scope, count=1, start=n))
        await _refreshed(upkeep)
        assert upkeep.refreshes == 1
        assert not await db.read(lacks_statistics)
        # The next refresh waits until the writes have doubled.
        await db.write(lambda conn: log_conversations(conn, project.scope, 1, 100))
        await asyncio.sleep(0.1)
        assert upkeep.refreshes == 1


async def _refreshed(upkeep: StatisticsUpkeep) -> None:
    # PostgreSQL's counts of rows written reach other sessions within about a second
    # under load, and up to ten after a backend went idle.
    for _ in range(1000):
        if upkeep.refreshes:
            return
        await asyncio.sleep(0.02)


@pytest.mark.postgres_only
async def test_the_writes_of_every_server_process_count(
    engine: Engine, db: Database, project: ProjectKeys
) -> None:
    """The upkeep runs in one process; the others' writes count as much as its own."""
    async with StatisticsUpkeep(db, first_after=20, poll_seconds=0.02) as upkeep:
        with engine.begin() as conn:  # as another process's writer would
            log_conversations(conn, project.scope, 25)
        with engine.connect() as conn:  # its connection goes idle, and reports its counts
            conn.exec_driver_sql("SELECT 1")
        await _refreshed(upkeep)
        assert upkeep.refreshes == 1
        assert db.writer.jobs == 0
    assert not await db.read(lacks_statistics)


async def test_a_database_with_rows_and_no_statistics_is_refreshed_at_start(
    engine: Engine, db: Database, project: ProjectKeys
) -> None:
    with engine.begin() as conn:
        log_conversations(conn, project.scope, 5)
    async with StatisticsUpkeep(db, poll_seconds=0.02) as upkeep:
        for _ in range(200):
            if upkeep.refreshes:
                break
            await asyncio.sleep(0.02)
        assert upkeep.refreshes == 1
    assert not await db.read(lacks_statistics)


def test_an_analyze_in_a_batch_with_a_failing_write_fails_nothing_but_that_write(
    db: Database,
) -> None:
    running, gate = threading.Event(), threading.Event()

    def hold(conn: Connection) -> None:
        running.set()
        gate.wait(10)

    def fail(conn: Connection) -> None:
        raise ConversationNotFound("x")

    held = queue_write(db.writer, hold)
    assert running.wait(10)
    failing = queue_write(db.writer, fail)
    analyzed = queue_write(db.writer, partial(analyze_in_writer, table="conversations"))
    gate.set()  # the two share the next batch, run fenced because one fails
    held.result(timeout=10)
    with pytest.raises(ConversationNotFound):
        failing.result(timeout=10)
    analyzed.result(timeout=10)
