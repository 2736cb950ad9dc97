"""Engines for the two supported databases, set up the same way everywhere."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import ConnectionPoolEntry


class Dialect(enum.StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


def make_engine(database_url: str, *, pool_size: int = 8, lock_at_begin: bool = False) -> Engine:
    """An engine with the pragmas and transaction handling convoscope relies on.

    ``lock_at_begin``: every transaction on SQLite takes the write lock at its BEGIN, as
    the server's writer does. For a process that writes beside a running server (the
    CLI): a deferred transaction that read first and then wrote failed at once with
    "database is locked" whenever the server had committed in between, since SQLite
    cannot wait for a lock on a snapshot that is already out of date.
    """
    if database_url.startswith("sqlite"):
        return _make_sqlite_engine(database_url, pool_size=pool_size, lock_at_begin=lock_at_begin)
    return create_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_serializer=_dump_json,
        json_deserializer=orjson.loads,
        # Statements run often are prepared (psycopg's default: from the fifth run), so
        # PostgreSQL parses them once per connection; but each run is still planned for
        # its own parameters. A generic plan PostgreSQL once cached for a prepared
        # statement scanned a project's whole index (8 ms at 12,000 messages). Measured
        # (conversations from 16 clients, three runs each): 570 req/s so, 485 unprepared.
        connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
    )


def _dump_json(value: Any) -> str:
    # orjson: every JSON column of every write passes through here.
    return orjson.dumps(value).decode()


def dialect_of(engine: Engine) -> Dialect:
    return Dialect(engine.dialect.name)


def _make_sqlite_engine(database_url: str, *, pool_size: int, lock_at_begin: bool) -> Engine:
    path = database_url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"check_same_thread": False},
        json_serializer=_dump_json,
        json_deserializer=orjson.loads,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; let
        # SQLAlchemy emit BEGIN itself (the recipe from SQLAlchemy's SQLite docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # A new file gives freed pages back on `PRAGMA incremental_vacuum` (retention,
        # forget). Only while it is empty: on a file in use the pragma takes a write lock
        # (it would wait on the server's writer), and an older file is switched by a
        # VACUUM (`convoscope db vacuum`).
        if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:
            cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
        cursor.execute("PRAGMA journal_mode=WAL")
        # A deleted row's bytes are zeroed where that costs no extra I/O, so a forgotten
        # user's text does not linger in pages still in use (store/erasure.py).
        cursor.execute("PRAGMA secure_delete=FAST")
        # FULL, not NORMAL: a 2xx promises the write survives a power cut, so every
        # commit must reach the disk. Group commit keeps that affordable.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so a reader never has to upgrade
        # and fail with SQLITE_BUSY halfway through a transaction.
        immediate = lock_at_begin or _is_writer(connection)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _is_writer(connection: Any) -> bool:
    return bool(connection.info.get("convoscope_writer"))


@contextmanager
def writer_connection(engine: Engine) -> Iterator[Connection]:
    """The single writer's connection, set up for writing and back to normal after.

    SQLite takes the write lock at its BEGIN. PostgreSQL may reuse generic plans on it,
    unlike on the readers (see ``make_engine``): the write path's statements are fixed
    primary-key probes and inserts whose best plan does not depend on the values, and
    planning them anew was a third of the server's work per logged conversation
    (conversations from 16 clients, three runs each: 710 req/s so, 510 without).
    """
    with engine.connect() as conn:
        postgresql = conn.dialect.name == Dialect.POSTGRESQL
        conn.info["convoscope_writer"] = True
        if postgresql:
            conn.exec_driver_sql("SET plan_cache_mode = auto")
            conn.commit()
        try:
            yield conn
        finally:
            # The pool hands this connection to readers next.
            conn.info.pop("convoscope_writer", None)
            if postgresql:
                try:
                    conn.rollback()
                    conn.exec_driver_sql("RESET plan_cache_mode")
                    conn.commit()
                except DBAPIError:
                    conn.invalidate()
