"""The write path: a writer thread with its own connection, many requests per commit.

A commit costs one fsync, and an fsync costs milliseconds, so committing once per request
caps the server at a few hundred writes a second. Here every write request is a job
queued to one thread that owns the only write connection (as in datasette's
``execute_write_fn``). The thread takes every job waiting, runs them in one transaction,
commits once, and only then resolves the callers' futures: a reply still means the data
is on disk.

One bad job must fail alone. Savepoints around every job would cost two statements each
on the common path, so the batch first runs without them; only when a job raises is the
transaction rolled back and the batch run again with a savepoint around each job. Jobs
must therefore be safe to run a second time: they only touch the connection.

The dashboard's summaries change with most writes, and mostly the same rows (a project's
day): each job's deltas are added up, and the batch applies their sums in one upsert per
row just before it commits (``summaries.Folded``). A job that fails, or is rolled back
to run again, takes its deltas with it.

Several server processes on one PostgreSQL each have a writer, and two of them may
upsert the same conversation at once: the one that commits second then trips over a row
the other just inserted (a unique violation), or the two deadlock. A job that loses such
a race is run again, alone, once the rest of its batch has committed and released its
locks; it then sees the winner's rows and writes over them, as a later request would.

On PostgreSQL a process may run more than one such thread (``connections``), each with
a connection of its own, taking batches from the one queue: while one thread's batch
waits on PostgreSQL (its statements, its commit's flush) another's runs the server's
side of its jobs. One thread left its connection idle inside its transaction most of
the time, waiting for the next statement (``bench/scale.py``: one process 147
conversations/s with one, 234 with two). They race as the writers of two processes do,
and lose the same way. SQLite takes one writer at a time, so it has one.

The queue is bounded (``max_queue``): past it a write is refused at once with
``WriterBusy`` (a 503 with ``Retry-After``), so overload pushes back on clients instead
of growing the server's memory. If a thread ever ends, whether stopped or killed by an
error it could not handle (its connection would not open), every write still queued and
every later one fails with ``WriterStopped``: nothing waits for a thread that is gone.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, RootTransaction

from convoscope.errors import WriterBusy, WriterStopped
from convoscope.store import summaries
from convoscope.store.engine import writer_connection
from convoscope.store.prepared import pipelined

T = TypeVar("T")
Job = Callable[[Connection], Any]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    """A queued job and how to hand its outcome back to whoever waits for it."""

    job: Job
    settle: Callable[[bool, Any], None]
    is_cancelled: Callable[[], bool]


class Writer:
    """Runs write jobs on ``connections`` connections, committing many jobs together."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_batch: int = 256,
        max_queue: int = 10_000,
        connections: int = 1,
    ) -> None:
        self._engine = engine
        self._connections = connections
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closed = False
        # Set once the thread has ended; from then on every write fails with it.
        self._ended: WriterStopped | None = None
        # Counted by every thread; += on an attribute is not atomic across threads.
        self._count_lock = threading.Lock()
        self.commits = 0
        self.jobs = 0
        # Writes queued by requests (not by background work) since the start: the
        # annotation worker reads how fast it grows, and holds off while it does.
        self.foreground_writes = 0

    def start(self) -> None:
        if self._threads:
            return
        self._threads = [
            threading.Thread(target=self._run, name="convoscope-writer", daemon=True)
            for _ in range(self._connections)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Finish every queued job, then stop the threads."""
        if not self._threads or self._closed:
            return
        self._closed = True
        for _ in self._threads:  # each thread ends at the first None it takes
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []

    @property
    def connections(self) -> int:
        """Threads, each with a connection of its own, that run the batches."""
        return self._connections

    @property
    def failure(self) -> WriterStopped | None:
        """Why the thread ended, if it ended without being stopped."""
        return None if self._closed else self._ended

    @property
    def waiting(self) -> int:
        """Jobs queued and not yet taken by the thread (approximate)."""
        return self._queue.qsize()

    async def run(self, job: Callable[[Connection], T], *, background: bool = False) -> T:
        """Run ``job`` in the next group commit and return its result once committed.

        ``background`` work (the annotation worker's) is not counted as ingest."""
        # An asyncio future settled through call_soon_threadsafe: a concurrent Future
        # wrapped for asyncio costs a lock, a condition and a callback chain per write.
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(ok: bool, value: Any) -> None:
            loop.call_soon_threadsafe(_settle, future, ok, value)

        self._enqueue(_Pending(job, settle, future.cancelled))
        if not background:
            self.foreground_writes += 1
        return await future

    def _enqueue(self, pending: _Pending) -> None:
        if self._ended is not None:
            raise self._ended
        if self._closed or not self._threads:
            raise WriterStopped("the server is not accepting writes: it is stopping")
        # qsize is approximate, and a bound needs no more: only the event loop enqueues.
        if self._queue.qsize() >= self._max_queue:
            raise WriterBusy(self._max_queue)
        self._queue.put(pending)
        if self._ended is not None:  # the thread ended while this was being queued
            self._fail_queued()

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as err:
            log.exception("the writer thread failed; no write can be stored until restart")
            self._ended = WriterStopped(
                f"the server cannot write to its database ({type(err).__name__}: {err}); "
                "nothing was stored: an operator must fix the database and restart the server"
            )
        else:
            self._ended = WriterStopped("the server is not accepting writes: it has stopped")
        self._fail_queued()

    def _fail_queued(self) -> None:
        """Fail every job still queued; each is taken once, whoever drains."""
        assert self._ended is not None
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is None:  # another thread's signal to stop: leave it to that thread
                self._queue.put(None)
                return
            try:
                item.settle(False, self._ended)
            except RuntimeError:  # its event loop has closed: nobody waits
                pass

    def _loop(self) -> None:
        with writer_connection(self._engine) as conn:
            stopping = False
            while not stopping:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < self._max_batch:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stopping = True
                        break
                    batch.append(item)
                self._commit_batch(conn, batch)

    def _commit_batch(self, conn: Connection, batch: list[_Pending]) -> None:
        live = [p for p in batch if not p.is_cancelled()]
        if not live:
            return
        try:
            results = self._run_together(conn, live)
            if results is None:
                # A job failed, and its partial writes must not commit with the others':
                # run the batch again, each job fenced by a savepoint.
                results = self._run_fenced(conn, live)
        except BaseException as err:  # the commit itself failed: nothing is durable
            log.exception("group commit of %d writes failed", len(live))
            for pending in live:
                pending.settle(False, err)
            return
        self._count(commits=1)
        self._retry_lost_races(conn, live, results)
        self._count(jobs=len(results))
        for pending, (ok, value) in zip(live, results, strict=True):
            pending.settle(ok, value)

    def _count(self, *, commits: int = 0, jobs: int = 0) -> None:
        with self._count_lock:
            self.commits += commits
            self.jobs += jobs

    def _retry_lost_races(
        self, conn: Connection, batch: list[_Pending], results: list[_Outcome]
    ) -> None:
        """Run again the jobs that lost a race with another process, in ``results``."""
        for _ in range(_RACE_RETRIES):
            lost = [i for i, (ok, value) in enumerate(results) if not ok and _lost_race(value)]
            if not lost:
                return
            log.info("%d writes lost a race with another server process; retrying", len(lost))
            try:
                again = self._run_fenced(conn, [batch[i] for i in lost])
            except BaseException as err:  # that commit failed: these are not durable
                log.exception("retry of %d writes failed", len(lost))
                for i in lost:
                    results[i] = (False, err)
                return
            self._count(commits=1)
            for i, outcome in zip(lost, again, strict=True):
                results[i] = outcome

    def _run_together(self, conn: Connection, batch: list[_Pending]) -> list[_Outcome] | None:
        """The fast path: every job in one transaction, no savepoints; None if one fails."""
        results: list[_Outcome] = []
        deltas = summaries.Folded()
        transaction = conn.begin()
        try:
            with summaries.folded_into(conn, deltas):
                for pending in batch:
                    results.append((True, pending.job(conn)))
        except Exception:
            transaction.rollback()
            return None
        except BaseException:
            transaction.rollback()
            raise
        try:
            _apply_and_commit(conn, transaction, deltas)
        except Exception as err:
            # The summaries' upsert collided with another writer's transaction: the
            # fenced run sorts out which job stands. A commit that failed fails again.
            if _lost_race(err):
                return None
            raise
        return results

    def _run_fenced(self, conn: Connection, batch: list[_Pending]) -> list[_Outcome]:
        """Each job in a savepoint. The summaries' deltas of a job rolled back are dropped
        with it; those of the others are applied once, at the end."""
        results: list[_Outcome] = []
        kept = summaries.Folded()
        try:
            with conn.begin() as transaction:
                for pending in batch:
                    deltas = summaries.Folded()
                    savepoint = conn.begin_nested()
                    try:
                        with summaries.folded_into(conn, deltas):
                            value = pending.job(conn)
                    except Exception as err:
                        savepoint.rollback()
                        results.append((False, err))
                    else:
                        savepoint.commit()
                        kept.merge(deltas)
                        results.append((True, value))
                _apply_and_commit(conn, transaction, kept)
        except Exception as err:
            # The summaries' upsert (or the commit) collided with another process's
            # transaction: nothing of the batch stands, and every job runs again.
            if not _lost_race(err):
                raise
            return [(False, err)] * len(batch)
        return results


_Outcome = tuple[bool, Any]


def _apply_and_commit(
    conn: Connection, transaction: RootTransaction, deltas: summaries.Folded
) -> None:
    """The batch's summary upserts and its COMMIT, sent together: one round trip.

    The upserts lock the day's summary rows, which every writer of every process needs,
    until the commit. Sent one by one, each answer waited for this thread to get the
    GIL and a core back (beside the event loop and the other writers) before the next
    statement went out, and the others' writers waited for those rows meanwhile
    (``bench/scale.py``). On SQLite nothing changes: it has one writer and no round trips.
    """
    try:
        with pipelined(conn):
            deltas.apply(conn)
            transaction.commit()
    except BaseException:
        # Also when the COMMIT itself failed: that leaves the transaction to close.
        transaction.rollback()
        raise


# PostgreSQL's SQLSTATEs for a write that collided with another transaction's: a unique
# violation on a row committed meanwhile, a serialization failure and a deadlock.
_RACES = frozenset({"23505", "40001", "40P01"})
_RACE_RETRIES = 3


def _lost_race(err: BaseException) -> bool:
    # SQLite has one writer in one process, and its errors carry no SQLSTATE.
    return getattr(getattr(err, "orig", None), "sqlstate", None) in _RACES


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the caller went away (request cancelled); the write still stands
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
