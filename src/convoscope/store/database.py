"""The database as the server sees it: reads on a thread pool, writes through the writer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from anyio import CapacityLimiter, to_thread
from sqlalchemy import Connection, Engine

from convoscope.store.engine import Dialect, dialect_of
from convoscope.store.writer import Writer

T = TypeVar("T")


class Database:
    """One engine, one writer thread, and a bounded pool of reader threads."""

    def __init__(self, engine: Engine, *, write_batch_size: int = 256, readers: int = 8) -> None:
        self.engine = engine
        self.dialect: Dialect = dialect_of(engine)
        self.writer = Writer(engine, max_batch=write_batch_size)
        self._readers = CapacityLimiter(readers)

    def start(self) -> None:
        self.writer.start()

    def close(self) -> None:
        self.writer.stop()
        self.engine.dispose()

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await to_thread.run_sync(self._read, fn, limiter=self._readers)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        return await self.writer.run(fn)

    def _read(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            return fn(conn)
