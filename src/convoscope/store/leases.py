"""Which server process runs a background job, when several share one database.

Background work (annotation, statistics upkeep, path indexing, retention) must run once
across every ``convoscope serve`` process on a database, and go on when the process that
ran it dies. On PostgreSQL a lease is a session advisory lock held on a connection of
its own: PostgreSQL frees it the moment that connection ends, which a killed process's
connection does at once, so another process takes the job over at its next try. On
SQLite there is one server process (``serve`` refuses more), so the lease is always held.

The connection's ``application_name`` names the job and the process, so an operator sees
who holds what in ``pg_stat_activity``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import zlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from convoscope.lifecycle import Service
from convoscope.store.engine import Dialect, dialect_of

log = logging.getLogger(__name__)

# The first key of every convoscope advisory lock, so they stay apart from other users'.
LOCK_NAMESPACE = zlib.crc32(b"convoscope") - 2**31


def lock_key(name: str) -> int:
    """The second key of a job's advisory lock: a signed 32-bit digest of its name."""
    return zlib.crc32(name.encode()) - 2**31


class Lease:
    """The right to run job ``name``, held by at most one process at a time."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.name = name
        self._shared = dialect_of(engine) != Dialect.POSTGRESQL
        self._engine = engine
        self._conn: Connection | None = None
        self._lease_engine: Engine | None = None

    @property
    def held(self) -> bool:
        return self._shared or self._conn is not None

    def acquire(self) -> bool:
        """Hold the lease if it is free; check it still is if held. Blocks on I/O."""
        if self._shared:
            return True
        if self._conn is not None:
            if self._still_held(self._conn):
                return True
            log.warning("lost the lease on %s: its connection ended", self.name)
            self._close()
        conn = self._connect()
        try:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:namespace, :key)"),
                {"namespace": LOCK_NAMESPACE, "key": lock_key(self.name)},
            ).scalar_one()
            conn.commit()
        except DBAPIError:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        log.info("holding the lease on %s", self.name)
        return True

    def release(self) -> None:
        """Let another process take the job at once.

        Closing the connection frees the lock too, but only once PostgreSQL's backend
        has ended, a moment after the close returns; the unlock frees it before."""
        if self._conn is not None:
            try:
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:namespace, :key)"),
                    {"namespace": LOCK_NAMESPACE, "key": lock_key(self.name)},
                )
                self._conn.commit()
            except DBAPIError:
                pass  # a connection that has ended holds no lock
        self._close()
        if self._lease_engine is not None:
            self._lease_engine.dispose()
            self._lease_engine = None

    def _connect(self) -> Connection:
        if self._lease_engine is None:
            # Its own connection, outside the pool readers and the writer draw from.
            self._lease_engine = create_engine(
                self._engine.url,
                poolclass=NullPool,
                connect_args={"application_name": f"convoscope {self.name} pid={os.getpid()}"},
            )
        return self._lease_engine.connect()

    @staticmethod
    def _still_held(conn: Connection) -> bool:
        try:
            conn.execute(text("SELECT 1")).scalar_one()
            conn.commit()
            return True
        except DBAPIError:
            return False

    def _close(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.close()
        except DBAPIError:
            self._conn.invalidate()
        self._conn = None


class Leased(Service):
    """``async with Leased(lease, make_service):`` runs the service only while held.

    Tries the lease every ``poll_seconds``: the process that gets it enters the service
    (an async context manager that starts background work on entry and stops it on
    exit); the others wait their turn, and take over when the holder goes.
    """

    def __init__(
        self,
        lease: Lease,
        make_service: Callable[[], AbstractAsyncContextManager[object]],
        *,
        poll_seconds: float = 5.0,
    ) -> None:
        super().__init__(interval=poll_seconds, first_after=poll_seconds)
        self.name = f"the lease on {lease.name}"
        self.lease = lease
        self._make_service = make_service
        self._service: AbstractAsyncContextManager[object] | None = None

    @property
    def running(self) -> bool:
        return self._service is not None

    async def started(self) -> None:
        # The first try before serving, so a lone process starts its jobs at once.
        await self.step()

    async def stopped(self) -> None:
        await self._stop_service()
        await asyncio.to_thread(self.lease.release)

    async def step(self) -> None:
        try:
            held = await asyncio.to_thread(self.lease.acquire)
        except Exception:  # the database is away: try again at the next poll
            log.exception("trying the lease on %s failed", self.lease.name)
            held = False
        if held and self._service is None:
            service = self._make_service()
            await service.__aenter__()
            self._service = service
        elif not held and self._service is not None:
            await self._stop_service()

    async def _stop_service(self) -> None:
        service, self._service = self._service, None
        if service is not None:
            await service.__aexit__(None, None, None)
