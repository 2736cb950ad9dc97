"""Group commit: many writes share one commit, one failing write fails alone, and a
result is only handed back once its transaction has committed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Engine, func, insert, select

from convoscope.errors import ConversationNotFound
from convoscope.store.tables import organizations
from convoscope.store.writer import Writer, WriterClosed


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
    blocker = writer.submit(lambda conn: gate.wait(5))
    pending = [asyncio.ensure_future(writer.run(insert_org(f"org{i}"))) for i in range(50)]
    await asyncio.sleep(0.05)
    gate.set()
    assert sorted(await asyncio.gather(*pending)) == sorted(f"org{i}" for i in range(50))
    blocker.result()
    writer.stop()
    assert count_orgs(engine) == 50
    assert writer.jobs == 51
    assert writer.commits <= 3, "the queued writes should have shared a commit"


async def test_a_failing_write_fails_alone(engine: Engine) -> None:
    writer = Writer(engine)
    writer.start()
    gate = threading.Event()
    writer.submit(lambda conn: gate.wait(5))

    def fail(conn: Connection) -> None:
        insert_org("doomed")(conn)
        raise ConversationNotFound("x")

    good = asyncio.ensure_future(writer.run(insert_org("kept")))
    bad = asyncio.ensure_future(writer.run(fail))
    duplicate = asyncio.ensure_future(writer.run(insert_org("kept")))
    gate.set()
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
    futures = [writer.submit(insert_org(f"o{i}")) for i in range(10)]
    writer.stop()
    assert [f.result() for f in futures] == [f"o{i}" for i in range(10)]
    assert count_orgs(engine) == 10
    with pytest.raises(WriterClosed):
        writer.submit(insert_org("late"))


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
