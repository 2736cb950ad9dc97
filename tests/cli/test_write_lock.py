"""Commands that write beside a running server take SQLite's write lock at BEGIN.

A deferred transaction that read, and then wrote after the server had committed, failed
at once with "database is locked": SQLite cannot wait for a lock on a snapshot that is
already out of date. Locked at BEGIN, the command waits for the server's commit instead,
and the server then waits for the command's.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Engine, func, insert, select

from convoscope.cli.context import migrated_engine
from convoscope.store import Database, make_engine
from convoscope.store.tables import organizations
from tests.queued_writes import queue_write


@pytest.fixture(autouse=True)
def sqlite_only(dialect: str) -> None:
    if dialect != "sqlite":
        pytest.skip("PostgreSQL takes row locks as it writes; nothing waits on a snapshot")


def insert_org(org_id: str) -> Callable[[Connection], None]:
    def job(conn: Connection) -> None:
        conn.execute(
            insert(organizations).values(id=org_id, name=org_id, created_at=datetime.now(UTC))
        )

    return job


def test_a_read_then_write_beside_the_server_waits_instead_of_failing(
    database_url: str, engine: Engine
) -> None:
    command = make_engine(database_url, pool_size=1, lock_at_begin=True)
    server = Database(engine)
    server.start()
    try:
        with command.begin() as conn:
            seen = conn.execute(select(func.count()).select_from(organizations)).scalar_one()
            by_server = queue_write(server.writer, insert_org("by-server"))
            time.sleep(0.3)
            assert not by_server.done(), "the server must wait for the command's lock"
            insert_org("by-command")(conn)
        by_server.result(timeout=15)
    finally:
        server.writer.stop()
        command.dispose()
    with engine.connect() as conn:
        names = set(conn.execute(select(organizations.c.id)).scalars())
    assert {"by-server", "by-command"} <= names
    assert len(names) == seen + 2


def test_the_commands_engine_locks_at_begin(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVOSCOPE_DATABASE_URL", database_url)
    path = database_url.removeprefix("sqlite:///")
    with migrated_engine() as command, command.begin() as conn:
        conn.execute(select(1))
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
