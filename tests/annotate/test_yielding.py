"""The background worker holds off while requests write, and catches up once they stop.

Time here is a clock the test moves by hand: what is asserted is the worker's decision
for a given rate of writes and a given queue, never how long anything took.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, Engine, select

from convoscope.annotate import (
    AnnotationWorker,
    InProcessRunner,
    OfflineAnalyzer,
    WorkerSettings,
    WritePressure,
    YieldSettings,
)
from convoscope.store import Database
from convoscope.store.tables import semantic_threads
from tests.annotate.test_worker import QUESTIONS, conversation, log
from tests.conftest import ProjectKeys


class HandClock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def statuses(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(semantic_threads.c.annotation_status).order_by(semantic_threads.c.id)
            ).scalars()
        )


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for ``condition`` (bounded: a worker that never gets there fails the test)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    pytest.fail(f"never happened: {what}")


def worker_on(
    db: Database,
    analyzer: OfflineAnalyzer,
    clock: HandClock,
    *,
    max_rate: float = 5.0,
    longest_wait: float = 600.0,
) -> AnnotationWorker:
    pressure = WritePressure(
        db.writer,
        YieldSettings(
            max_rate=max_rate,
            window_seconds=1.0,
            check_seconds=0.002,
            longest_wait_seconds=longest_wait,
        ),
        clock=clock,
    )
    return AnnotationWorker(
        db,
        InProcessRunner(analyzer),
        WorkerSettings(batch_size=50, min_threads_to_fit=1000, poll_seconds=0.002),
        pressure=pressure,
    )


async def test_the_worker_waits_while_requests_write_and_catches_up_after(
    db: Database, project: ProjectKeys, engine: Engine, shared_analyzer: OfflineAnalyzer
) -> None:
    clock = HandClock()
    worker = worker_on(db, shared_analyzer, clock)
    # Ten request writes within the first second: 10 a second, over the limit of 5.
    for i in range(10):
        await log(db, project, conversation(f"c{i}", QUESTIONS[:1]))
    async with worker:
        await until(lambda: worker.deferrals >= 5, "the worker looked and held off")
        assert statuses(engine) == ["pending"] * 10
        clock.now = 1.0  # the second ends: it held 10 writes, still busy
        seen = worker.deferrals
        await until(lambda: worker.deferrals >= seen + 5, "held off again")
        assert statuses(engine) == ["pending"] * 10
        clock.now = 2.0  # a second without a write: quiet
        await until(lambda: statuses(engine) == ["done"] * 10, "caught up")
    assert worker.overdue_batches == 0


async def test_a_queue_at_the_writer_counts_as_busy_whatever_the_rate(
    db: Database, shared_analyzer: OfflineAnalyzer
) -> None:
    pressure = WritePressure(db.writer, YieldSettings(max_rate=1e9), clock=HandClock())
    assert not pressure.busy()
    release = threading.Event()

    def held(conn: Connection) -> None:
        release.wait(10)

    first = asyncio.ensure_future(db.writer.run(held))
    await asyncio.sleep(0)
    await until(lambda: db.writer.waiting == 0, "the writer took the first job")
    queued = asyncio.ensure_future(db.writer.run(lambda conn: None))
    await asyncio.sleep(0)
    assert db.writer.waiting == 1
    assert pressure.busy()
    release.set()
    await asyncio.wait_for(first, 10)
    await asyncio.wait_for(queued, 10)
    assert not pressure.busy()


async def test_under_ingest_that_never_stops_a_batch_runs_after_the_longest_wait(
    db: Database, project: ProjectKeys, engine: Engine, shared_analyzer: OfflineAnalyzer
) -> None:
    clock = HandClock()
    worker = worker_on(db, shared_analyzer, clock, max_rate=1.0, longest_wait=30.0)
    for i in range(10):
        await log(db, project, conversation(f"c{i}", QUESTIONS[:1]))
    async with worker:
        await until(lambda: worker.deferrals >= 5, "the worker held off")
        assert statuses(engine) == ["pending"] * 10
        clock.now = 0.5  # still within the first second, still busy; not overdue yet
        seen = worker.deferrals
        await until(lambda: worker.deferrals >= seen + 5, "held off again")
        assert statuses(engine) == ["pending"] * 10
        # Requests go on writing, more than one a second, and the longest wait passes.
        for i in range(10, 50):
            await log(db, project, conversation(f"c{i}", QUESTIONS[:1]))
        clock.now = 31.0
        await until(lambda: "done" in statuses(engine), "a batch ran anyway")
    assert worker.overdue_batches >= 1


async def test_a_burst_after_a_long_quiet_counts_as_busy_at_once(
    db: Database, project: ProjectKeys
) -> None:
    clock = HandClock()
    pressure = WritePressure(db.writer, YieldSettings(max_rate=20.0), clock=clock)
    assert not pressure.busy()
    clock.now = 100.0
    # A rate over the last 100 s would hide a burst that just began: it looks again.
    assert pressure.busy()
    assert not pressure.busy()
    for i in range(10):
        await log(db, project, conversation(f"c{i}", QUESTIONS[:1]))
    assert pressure.busy(), "10 writes in a moment: 40 a second at least"
    clock.now = 101.0
    assert not pressure.busy(), "over the whole second, 10 writes: under the limit of 20"
