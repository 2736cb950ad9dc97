"""The database as the server sees it: reads on a thread pool, writes through the writer."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Protocol, TypeVar

from anyio import CancelScope, CapacityLimiter, to_thread
from sqlalchemy import Connection, Engine

from convoscope.store.engine import Dialect, dialect_of
from convoscope.store.writer import Writer

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Stream(Protocol[T_co]):
    """Rows read over many steps on one connection of ``engine`` (a CSV export)."""

    def prepare(self) -> None:
        """Open the connection and start reading; raises before anything is sent."""

    def __iter__(self) -> Iterator[T_co]: ...

    def close(self) -> None:
        """Give the connection back; called once the stream ends, fails or is left."""


class Database:
    """One engine, its writer threads (one on SQLite), and a bounded pool of reader threads.

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
        write_connections: int = 1,
    ) -> None:
        self.engine = engine
        self.dialect: Dialect = dialect_of(engine)
        self.writer = Writer(
            engine,
            max_batch=write_batch_size,
            max_queue=write_queue_limit,
            # SQLite takes one writer at a time: a second would wait on the first's lock.
            connections=write_connections if self.dialect == Dialect.POSTGRESQL else 1,
        )
        self._readers = CapacityLimiter(readers)
        self.replicas = tuple(replicas)
        self._next_replica = itertools.cycle(self.replicas or (engine,))

    def start(self) -> None:
        self.writer.start()

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Read on the primary: sees every write acknowledged so far."""
        return await to_thread.run_sync(self._read, self.engine, fn, limiter=self._readers)

    async def read_analytics(self, fn: Callable[[Connection], T]) -> T:
        """Read on a replica, which may lag the primary: queries, exports, dashboards."""
        return await to_thread.run_sync(
            self._read, self.analytics_engine(), fn, limiter=self._readers
        )

    async def stream_analytics(self, make: Callable[[Engine], Stream[T]]) -> StreamedRows[T]:
        """A stream of analytics reads that counts as one reader for as long as it runs,
        as ``read_analytics`` does for one read, so exports cannot drain the pool.

        ``make`` gets the engine (a replica, in turn) and the stream is prepared before
        this returns, so its errors raise here. The rows are read on worker threads.
        ``aclose()`` (the response is done, or its client left) closes the stream then,
        not when it is garbage collected, even when it was never read.
        """
        borrower = object()
        await self._readers.acquire_on_behalf_of(borrower)
        try:
            stream = make(self.analytics_engine())
            await to_thread.run_sync(stream.prepare)
        except BaseException:
            self._readers.release_on_behalf_of(borrower)
            raise
        return StreamedRows(stream, lambda: self._readers.release_on_behalf_of(borrower))

    @property
    def readers_busy(self) -> int:
        """Readers in use: reads running, and streams not yet closed."""
        return int(self._readers.borrowed_tokens)

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


class StreamedRows(AsyncIterator[T]):
    """The rows of a prepared stream, read on worker threads; closed at the end, on a
    failure, or by ``aclose``, whichever comes first."""

    def __init__(self, stream: Stream[T], release: Callable[[], None]) -> None:
        self._stream = stream
        self._items = iter(stream)
        self._release = release
        self._closed = False

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        try:
            got = await to_thread.run_sync(_next, self._items)
        except BaseException:
            await self.aclose()
            raise
        if not got:
            await self.aclose()
            raise StopAsyncIteration
        return got[0]

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            with CancelScope(shield=True):
                await to_thread.run_sync(_close, self._items, self._stream)
        finally:
            self._release()


def _next(items: Iterator[T]) -> list[T]:
    """The next item, or nothing at the end."""
    for item in items:
        return [item]
    return []


def _close(items: Iterator[object], stream: Stream[object]) -> None:
    close = getattr(items, "close", None)  # a generator left part-way
    if close is not None:
        close()
    stream.close()
