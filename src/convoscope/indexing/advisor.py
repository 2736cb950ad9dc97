"""What the server does after a slow query over JSON paths that have no index: index them
(``auto_index``), or log the command that would.

The index is built by the single writer, as one of its jobs: on SQLite, writes queue
behind it while it builds (1.2 s per million rows) and none fails for want of the lock.
So the server builds one only on SQLite tables of at most ``max_rows`` rows, at most
``per_table`` of its own on each table; on PostgreSQL the index is statistics, which
cost writes nothing. A path the operator dropped is never made again.

Several server processes on one database build under a lease (``store/leases.py``), so
one process at a time makes indexes: a ``leased`` advisor queues the paths it wants
until it holds the lease (``builds()``, the service the lease runs), then builds them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection

from convoscope.indexing import path_indexes
from convoscope.indexing.path_indexes import PathIndex
from convoscope.lifecycle import Service
from convoscope.store import Database

log = logging.getLogger(__name__)

Paths = Sequence[tuple[str, tuple[str, ...]]]
# Paths waiting for the lease, at most; each is one slow query's news, worth little alone.
MAX_QUEUED = 256


class PathAdvisor:
    def __init__(
        self,
        db: Database,
        *,
        auto: bool,
        slow_seconds: float = 0.5,
        max_rows: int = 5_000_000,
        per_table: int = 4,
        leased: bool = False,
    ) -> None:
        self.db = db
        self.auto = auto
        self.slow_seconds = slow_seconds
        self.max_rows = max_rows
        self.per_table = per_table
        # Paths acted on by this process: each is indexed, or advised, once.
        self._seen: set[str] = set()
        self._builds: set[asyncio.Task[None]] = set()
        # Builds wait here while another process holds the lease (leased advisors only).
        self._building = not leased
        self._queued: deque[tuple[PathIndex, float]] = deque(maxlen=MAX_QUEUED)
        # Made on the event loop; queries run on reader threads and hand it their news.
        self._loop = asyncio.get_running_loop()

    @contextmanager
    def watch(self, conn: Connection, resources: Sequence[str], paths: Paths) -> Iterator[None]:
        """Time the query run inside, on its reader thread; when it was slow over paths
        without an index, act on them (on the event loop)."""
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        wanted = [i for r in resources for i in self.wanted(conn, r, paths, seconds)]
        if wanted:
            self._loop.call_soon_threadsafe(self.act, wanted, seconds)

    def wanted(
        self, conn: Connection, resource: str, paths: Paths, seconds: float
    ) -> list[PathIndex]:
        """After a query over ``paths`` took ``seconds``: the indexes worth acting on.
        Runs on the query's reader thread, in its transaction."""
        if seconds < self.slow_seconds:
            return []
        out = []
        for index in path_indexes.unindexed(conn, resource, paths):
            if index.label not in self._seen:
                self._seen.add(index.label)
                out.append(index)
        return out

    def act(self, wanted: list[PathIndex], seconds: float) -> None:
        """Start building ``wanted`` (or log the commands); returns at once."""
        for index in wanted:
            if not self.auto:
                self._advise(index, seconds, "")
                continue
            if self._building:
                self._start_build(index, seconds)
            else:
                self._queued.append((index, seconds))

    def builds(self) -> Service:
        """The service that builds indexes while it runs: entered under the lease."""
        return _Builds(self)

    def _start_build(self, index: PathIndex, seconds: float) -> None:
        task = asyncio.get_running_loop().create_task(self._build(index, seconds))
        self._builds.add(task)
        task.add_done_callback(self._builds.discard)

    async def settle(self) -> None:
        """Wait for the builds under way (before the writer stops)."""
        if self._builds:
            await asyncio.gather(*self._builds, return_exceptions=True)

    async def _build(self, index: PathIndex, seconds: float) -> None:
        try:
            refused = await self.db.write(
                lambda conn: path_indexes.create_for_server(
                    conn, index, max_rows=self.max_rows, per_table=self.per_table
                )
            )
        except Exception:
            log.exception("indexing %s failed", index.label)
            return
        if refused == "":  # made meanwhile, by another query's build or the operator
            return
        if refused is not None:
            self._advise(index, seconds, f" (not made by the server: {refused})")
            return
        log.warning(
            "indexed %s, after a query over it took %.1f s; `%s` removes the index",
            index.label,
            seconds,
            path_indexes.command(index, "drop"),
        )

    def _resume(self) -> None:
        self._building = True
        while self._queued:
            self._start_build(*self._queued.popleft())

    async def _pause(self, timeout: float) -> None:
        self._building = False
        if self._builds:
            await asyncio.wait(self._builds, timeout=timeout)

    def _advise(self, index: PathIndex, seconds: float, why_not: str) -> None:
        log.warning(
            "a query over %s took %.1f s reading every row's JSON; `%s` would speed it up%s",
            index.label,
            seconds,
            path_indexes.command(index),
            why_not,
        )


class _Builds(Service):
    name = "building path indexes"

    def __init__(self, advisor: PathAdvisor) -> None:
        super().__init__()
        self._advisor = advisor

    async def started(self) -> None:
        self._advisor._resume()

    async def stopped(self) -> None:
        # Builds under way finish, within the stop timeout, before the writer stops.
        await self._advisor._pause(self.stop_timeout)
