"""Group commit: many writes share one commit, one failing write fails alone, and a
result is only handed back once its transaction has committed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from convoscope.errors import ConversationNotFound, WriterBusy, WriterStopped
from convoscope.store import Writer, make_engine
from convoscope.store.tables import organizations
from tests.queued_writes import queue_write


def insert_org(org_id: str) -> Callable[[Connection], str]:
    def job(conn: Connection) -> str:
        conn.execute(
            insert(organizations).values(id=org_id, name=org_id, created_at=datetime.now(UTC))
        )
        return org_id

    return job


def count_orgs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(organizations)).scalar_one())


async def test_concurrent_writes_share_commits_and_all_land(engine: Engine) -> None:
    writer = Writer(engine, max_batch=64)
    writer.start()
    # Hold the writer on a slow job so the next ones queue up behind it.
    gate = threading.Event()
    blocker = asyncio.ensure_future(writer.run(lambda conn: gate.wait(5)))
    pending = [asyncio.ensure_future(writer.run(insert_org(f"org{i}"))) for i in range(50)]
    await asyncio.sleep(0.05)
    gate.set()
    assert sorted(await asyncio.gather(*pending)) == sorted(f"org{i}" for i in range(50))
    await blocker
    writer.stop()
    assert count_orgs(engine) == 50
    assert writer.jobs == 51
    assert writer.commits <= 3, "the queued writes should have shared a commit"


async def test_a_failing_write_fails_alone(engine: Engine) -> None:
    writer = Writer(engine)
    writer.start()
    gate = threading.Event()
    held = asyncio.ensure_future(writer.run(lambda conn: gate.wait(5)))

    def fail(conn: Connection) -> None:
        insert_org("doomed")(conn)
        raise ConversationNotFound("x")

    good = asyncio.ensure_future(writer.run(insert_org("kept")))
    bad = asyncio.ensure_future(writer.run(fail))
    duplicate = asyncio.ensure_future(writer.run(insert_org("kept")))
    await asyncio.sleep(0)  # all three queued behind the held job: one batch
    gate.set()
    await held
    assert await good == "kept"
    with pytest.raises(ConversationNotFound):
        await bad
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        await duplicate
    writer.stop()
    with engine.connect() as conn:
        assert conn.execute(select(organizations.c.id)).scalars().all() == ["kept"]


def test_stop_commits_what_was_queued_and_then_refuses(engine: Engine) -> None:
    writer = Writer(engine)
    writer.start()
    futures = [queue_write(writer, insert_org(f"o{i}")) for i in range(10)]
    writer.stop()
    assert [f.result() for f in futures] == [f"o{i}" for i in range(10)]
    assert count_orgs(engine) == 10
    with pytest.raises(WriterStopped):
        queue_write(writer, insert_org("late")).result(timeout=10)


@pytest.mark.postgres_only
async def test_postgresql_plans_the_writer_generically_and_readers_per_run(
    engine: Engine,
) -> None:
    writer = Writer(engine)
    writer.start()
    try:
        on_writer = await writer.run(
            lambda conn: conn.exec_driver_sql("SHOW plan_cache_mode").scalar_one()
        )
    finally:
        writer.stop()
    with engine.connect() as conn:
        on_reader = conn.exec_driver_sql("SHOW plan_cache_mode").scalar_one()
    assert (on_writer, on_reader) == ("auto", "force_custom_plan")


async def test_a_writer_whose_connection_cannot_open_fails_every_write(tmp_path: Path) -> None:
    # A directory where the database file should be: SQLite cannot open it.
    broken = make_engine(f"sqlite:///{tmp_path}")
    writer = Writer(broken)
    writer.start()
    try:
        with pytest.raises(WriterStopped, match="cannot write to its database"):
            await asyncio.wait_for(writer.run(insert_org("lost")), timeout=10)
        assert writer.failure is not None
        with pytest.raises(WriterStopped, match="cannot write to its database"):
            await writer.run(insert_org("later"))
    finally:
        writer.stop()
        broken.dispose()


def test_writes_sent_while_the_thread_dies_all_fail_and_none_waits(tmp_path: Path) -> None:
    broken = make_engine(f"sqlite:///{tmp_path}")
    writer = Writer(broken)
    writer.start()
    # Sent as the thread starts and dies: some are queued before its death, some after.
    outcomes: list[BaseException] = []
    futures = [queue_write(writer, insert_org(f"o{i}")) for i in range(500)]
    for future in futures:
        error = future.exception(timeout=10)
        assert error is not None
        outcomes.append(error)
    writer.stop()
    broken.dispose()
    assert len(outcomes) == 500
    assert all(isinstance(error, WriterStopped) for error in outcomes)


def test_a_full_queue_refuses_a_write_at_once(engine: Engine) -> None:
    writer = Writer(engine, max_queue=3)
    writer.start()
    running, gate = threading.Event(), threading.Event()

    def hold(conn: Connection) -> None:
        running.set()
        gate.wait(10)

    blocker = queue_write(writer, hold)
    assert running.wait(10)
    queued = [queue_write(writer, insert_org(f"o{i}")) for i in range(3)]
    with pytest.raises(WriterBusy) as refused:
        queue_write(writer, insert_org("one too many")).result(timeout=10)
    assert refused.value.retry_after == 1
    gate.set()
    blocker.result(timeout=10)
    assert [f.result(timeout=10) for f in queued] == ["o0", "o1", "o2"]
    queue_write(writer, insert_org("room again")).result(timeout=10)
    writer.stop()
    assert count_orgs(engine) == 4


def upsert_org(
    name: str, written: threading.Event | None = None, gate: threading.Event | None = None
) -> Callable[[Connection], str]:
    """Insert organization "race", or rename it when it is there; then set ``written``
    and wait on ``gate``."""

    def job(conn: Connection) -> str:
        there = conn.execute(select(organizations.c.id).where(organizations.c.id == "race"))
        if there.first() is None:
            conn.execute(
                insert(organizations).values(id="race", name=name, created_at=datetime.now(UTC))
            )
        else:
            conn.execute(
                update(organizations).where(organizations.c.id == "race").values(name=name)
            )
        if written is not None and gate is not None:
            written.set()
            gate.wait(10)
        return name

    return job


@pytest.mark.postgres_only
def test_a_write_that_loses_a_race_with_another_writer_runs_again_and_lands(
    engine: Engine,
) -> None:
    # Two writers stand for two server processes on one database. The second's batch
    # holds a job that fails, so its writes run fenced by savepoints; its upsert then
    # waits for the first's uncommitted row, and fails once that commits.
    first, second = Writer(engine), Writer(engine)
    first.start()
    second.start()
    written, gate = threading.Event(), threading.Event()
    running, hold = threading.Event(), threading.Event()

    def fail(conn: Connection) -> None:
        raise ConversationNotFound("x")

    def held(conn: Connection) -> None:
        running.set()
        hold.wait(10)

    try:
        winner = queue_write(first, upsert_org("first", written, gate))
        assert written.wait(10), "the first write did not run"
        blocker = queue_write(second, held)
        assert running.wait(10)
        failing = queue_write(second, fail)
        racing = queue_write(second, upsert_org("second"))
        hold.set()  # the two run in the next batch
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock(engine):
            assert time.monotonic() < deadline, "the second write never waited"
            time.sleep(0.01)
        gate.set()
        blocker.result(timeout=10)
        assert isinstance(failing.exception(timeout=10), ConversationNotFound)
        assert (winner.result(timeout=10), racing.result(timeout=10)) == ("first", "second")
    finally:
        gate.set()
        hold.set()
        first.stop()
        second.stop()
    with engine.connect() as conn:
        assert conn.execute(select(organizations.c.name)).scalars().all() == ["second"]
    assert second.commits == 3, "the losing write ran again in a transaction of its own"


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        waiting = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).scalar_one()
    return int(waiting) > 0


@pytest.mark.postgres_only
async def test_a_second_connection_commits_while_the_first_is_held(engine: Engine) -> None:
    writer = Writer(engine, connections=2)
    writer.start()
    gate, holding = threading.Event(), threading.Event()

    def hold(conn: Connection) -> str:
        holding.set()
        gate.wait(10)
        return "held"

    try:
        held = asyncio.ensure_future(writer.run(hold))
        assert await asyncio.to_thread(holding.wait, 10)
        # With one connection this would wait for the gate; the other thread takes it.
        assert await asyncio.wait_for(writer.run(insert_org("beside")), 5) == "beside"
        assert not held.done()
        gate.set()
        assert await held == "held"
        many = await asyncio.gather(*(writer.run(insert_org(f"org{i}")) for i in range(100)))
        assert len(many) == 100
    finally:
        gate.set()
        writer.stop()
    assert count_orgs(engine) == 101
    assert writer.jobs == 102


async def test_stop_ends_every_connection_s_thread(engine: Engine) -> None:
    before = set(threading.enumerate())
    writer = Writer(engine, connections=3)
    writer.start()
    started = [t for t in threading.enumerate() if t not in before]
    assert len([t for t in started if t.name == "convoscope-writer"]) == 3
    await asyncio.gather(*(writer.run(insert_org(f"org{i}")) for i in range(10)))
    writer.stop()
    assert not [t for t in started if t.is_alive()]
    with pytest.raises(WriterStopped):
        await writer.run(insert_org("late"))
    assert count_orgs(engine) == 10


@pytest.mark.postgres_only
async def test_a_write_refused_only_at_commit_fails_and_the_writer_goes_on(
    engine: Engine,
) -> None:
    """The summaries' upserts and the COMMIT travel in one pipeline: a failure there
    (here a deferred check) fails the batch's writes, and the next batch commits."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE deferred_pairs (n int,"
            " CONSTRAINT one_n UNIQUE (n) DEFERRABLE INITIALLY DEFERRED)"
        )

    def twice(conn: Connection) -> None:
        conn.exec_driver_sql("INSERT INTO deferred_pairs VALUES (1), (1)")

    writer = Writer(engine)
    writer.start()
    try:
        with pytest.raises(IntegrityError):
            await writer.run(twice)
        assert await writer.run(insert_org("after")) == "after"
    finally:
        writer.stop()
    assert count_orgs(engine) == 1
