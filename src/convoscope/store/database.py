"""The database as the server sees it: reads on a thread pool, writes through the writer."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import TypeVar

from anyio import CapacityLimiter, to_thread
from sqlalchemy import Connection, Engine

from convoscope.store.engine import Dialect, dialect_of
from convoscope.store.writer import Writer

T = TypeVar("T")


class Database:
    """One engine, one writer thread, and a bounded pool of reader threads.

    ``replicas`` are engines on streaming replicas of the primary: ``read_analytics``
    sends its work to them in turn (to the primary when there are none), ``read`` always
    to the primary, so that what a client just wrote is what it reads back.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        write_batch_size: int = 256,
        write_queue_limit: int = 2_000,
        readers: int = 8,
        replicas: Sequence[Engine] = (),
    ) -> None:
        self.engine = engine
        self.dialect: Dialect = dialect_of(engine)
        self.writer = Writer(engine, max_batch=write_batch_size, max_queue=write_queue_limit)
        self._readers = CapacityLimiter(readers)
        self.replicas = tuple(replicas)
        self._next_replica = itertools.cycle(self.replicas or (engine,))

    def start(self) -> None:
        self.writer.start()

    def close(self) -> None:
        self.writer.stop()
        self.engine.dispose()

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Read on the primary: sees every write acknowledged so far."""
        return await to_thread.run_sync(self._read, self.engine, fn, limiter=self._readers)

    async def read_analytics(self, fn: Callable[[Connection], T]) -> T:
        """Read on a replica, which may lag the primary: queries, exports, dashboards."""
        return await to_thread.run_sync(
            self._read, self.analytics_engine(), fn, limiter=self._readers
        )

    def analytics_engine(self) -> Engine:
        """The engine the next analytics read goes to: the replicas in turn."""
        return next(self._next_replica)

    async def write(self, fn: Callable[[Connection], T], *, background: bool = False) -> T:
        """Run ``fn`` in the writer's next group commit; ``background`` work is the
        server's own (annotation), which yields to requests (see ``Writer.run``)."""
        return await self.writer.run(fn, background=background)

    @staticmethod
    def _read(engine: Engine, fn: Callable[[Connection], T]) -> T:
        with engine.connect() as conn:
            return fn(conn)
