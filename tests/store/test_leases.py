"""One process at a time runs each background job, and another takes over when it goes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from sqlalchemy import Engine, text

from convoscope.store import Lease, Leased


def _holder_pids(engine: Engine, job: str) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted "
                    "AND a.datname = current_database() AND a.application_name LIKE :name"
                ),
                {"name": f"convoscope {job} pid=%"},
            ).scalars()
        )


@pytest.mark.postgres_only
def test_a_lease_is_held_by_one_at_a_time_and_freed_on_release(engine: Engine) -> None:
    first, second = Lease(engine, "annotation"), Lease(engine, "annotation")
    other_job = Lease(engine, "statistics")
    try:
        assert first.acquire() and first.held
        assert first.acquire(), "acquiring a held lease again keeps it"
        assert not second.acquire() and not second.held
        assert other_job.acquire(), "each job has a lease of its own"
        assert len(_holder_pids(engine, "annotation")) == 1
        first.release()
        assert second.acquire()
    finally:
        for lease in (first, second, other_job):
            lease.release()
    assert _holder_pids(engine, "annotation") == []


@pytest.mark.postgres_only
def test_a_holder_whose_connection_ends_loses_the_lease_to_the_next(engine: Engine) -> None:
    first, second = Lease(engine, "retention"), Lease(engine, "retention")
    try:
        assert first.acquire()
        (pid,) = _holder_pids(engine, "retention")
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        deadline = time.monotonic() + 5
        while _holder_pids(engine, "retention") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert second.acquire()
        assert not first.acquire() and not first.held
    finally:
        first.release()
        second.release()


def test_on_sqlite_the_one_server_process_always_holds_the_lease(
    engine: Engine, dialect: str
) -> None:
    if dialect != "sqlite":
        pytest.skip("SQLite only")
    assert Lease(engine, "annotation").acquire()
    assert Lease(engine, "annotation").acquire()


@pytest.mark.postgres_only
async def test_leased_runs_the_service_in_one_holder_and_hands_it_over(engine: Engine) -> None:
    running: list[str] = []

    def service(name: str) -> AbstractAsyncContextManager[None]:
        @asynccontextmanager
        async def run() -> AsyncIterator[None]:
            running.append(name)
            try:
                yield
            finally:
                running.remove(name)

        return run()

    first = Leased(Lease(engine, "indexing"), lambda: service("first"), poll_seconds=0.05)
    second = Leased(Lease(engine, "indexing"), lambda: service("second"), poll_seconds=0.05)
    await first.__aenter__()
    async with second:
        await asyncio.sleep(0.2)
        assert running == ["first"]
        await first.__aexit__(None, None, None)
        deadline = time.monotonic() + 5
        while running != ["second"] and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert running == ["second"]
    assert running == []
