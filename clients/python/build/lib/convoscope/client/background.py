"""``BackgroundLogger``: log from an app's request path without waiting for the server.

The caller's thread only puts the body on a bounded queue (a few microseconds). One
sender thread takes it off in batches, every ``flush_interval`` seconds or
``batch_size`` items, and sends each batch over one event loop with a few requests in
flight. A full queue drops the new item, counts it and says so in the log; nothing here
ever raises into the caller or makes it wait.

Batches keep the order that matters: the conversations first, then the feedback and
events that refer to their messages. Several upserts of one conversation in a batch are
sent once, the last one (each carries the whole history), at the place of the first.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import queue
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel

from convoscope.client._async import AsyncClient
from convoscope.client._base import BaseClient, Body, Call, Calls, error_from, to_body
from convoscope.client.errors import ConvoscopeClientError
from convoscope.client.retries import Retry

__all__ = ["BackgroundLogger", "LoggerStats"]

log = logging.getLogger("convoscope.client")

Kind = Literal["conversation", "feedback", "event"]
# A logger in the background retries for longer than a caller would wait: up to about a
# minute of server restarts or 429s before a body is given up (and counted as failed).
BACKGROUND_RETRY = Retry(attempts=8, initial=0.25, max_wait=15.0)


@dataclass(frozen=True)
class LoggerStats:
    """What a logger did so far: ``sent`` acknowledged, ``failed`` given up after
    retries, ``dropped`` refused because the queue was full (or the logger shut down)."""

    sent: int
    failed: int
    dropped: int
    queued: int


class _Marker:
    """Put in the queue by ``flush``/``shutdown``: set once everything before it is sent."""

    def __init__(self, stop: bool) -> None:
        self.stop = stop
        self.done = threading.Event()


_live: weakref.WeakSet[BackgroundLogger] = weakref.WeakSet()


class BackgroundLogger:
    """Send conversations, feedback and events from a thread of its own.

    ::

        from convoscope.client import BackgroundLogger

        logger = BackgroundLogger("http://127.0.0.1:8080", api_key="cvs_…")
        logger.log_conversation({"id": "conv_1", "type": "openai", "messages": [...]})
        logger.flush()       # wait until what was logged so far is sent (optional)

    It flushes by itself when the interpreter exits, and works on in a process forked
    after it started (gunicorn ``--preload``): the child starts a sender of its own and
    leaves the parent's queue to the parent. Bodies are taken as they are when logged:
    do not change a dict after passing it.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_queue: int = 10_000,
        concurrency: int = 8,
        timeout: float | httpx.Timeout | None = None,
        retry: Retry | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if batch_size < 1 or max_queue < 1 or concurrency < 1 or flush_interval <= 0:
            raise ValueError("batch_size, max_queue, concurrency and flush_interval must be > 0")
        settings = BaseClient(base_url, api_key, timeout=timeout, headers=headers)
        self.base_url = settings.base_url
        self._client_args: dict[str, Any] = {
            "base_url": settings.base_url,
            "timeout": settings.timeout,
            "retry": retry or BACKGROUND_RETRY,
            "headers": settings.headers,
            "api_key": "",  # already in the headers
        }
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.concurrency = concurrency
        self._sent = self._failed = self._dropped = 0
        self._closed = False
        self._reset()
        _live.add(self)

    def _reset(self) -> None:
        self._queue: queue.Queue[tuple[Kind, Body] | _Marker] = queue.Queue(self.max_queue)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._pid = os.getpid()
        self._dropped_logged = self._dropped

    # -- the caller's side: never raises, never waits ----------------------------

    def log_conversation(self, body: Body) -> None:
        """Queue an upsert of a conversation (its full history)."""
        self._put("conversation", body)

    def log_feedback(self, body: Body) -> None:
        self._put("feedback", body)

    def log_event(self, body: Body) -> None:
        self._put("event", body)

    def _put(self, kind: Kind, body: Body) -> None:
        try:
            if self._closed:
                self._dropped += 1
                return
            if self._thread is None or self._pid != os.getpid():
                self._start()
            self._queue.put_nowait((kind, body))
        except queue.Full:
            self._dropped += 1
        except Exception:  # logging must never break the app
            self._dropped += 1
            log.debug("convoscope: could not queue a %s", kind, exc_info=True)

    def _start(self) -> None:
        with self._start_lock:
            if self._pid != os.getpid():
                self._reset()
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="convoscope-logger", daemon=True)
                thread.start()
                self._thread = thread

    @property
    def stats(self) -> LoggerStats:
        return LoggerStats(self._sent, self._failed, self._dropped, self._queue.qsize())

    # -- flush and shutdown --------------------------------------------------------

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything logged before this call was sent or given up; False if
        that took longer than ``timeout``."""
        return self._mark(stop=False, timeout=timeout)

    def shutdown(self, timeout: float | None = 10.0) -> bool:
        """Flush, then stop the sender; later logs are dropped (and counted)."""
        if self._closed:
            return True
        self._closed = True
        return self._mark(stop=True, timeout=timeout)

    def _mark(self, *, stop: bool, timeout: float | None) -> bool:
        if self._pid != os.getpid() or self._thread is None:
            if stop or self._queue.empty():
                return True
            self._start()
        marker = _Marker(stop)
        try:
            self._queue.put(marker, timeout=timeout)
        except queue.Full:
            return False
        done = marker.done.wait(timeout)
        if stop and done and self._thread is not None:
            self._thread.join(timeout)
        return done

    # -- the sender thread -------------------------------------------------------------

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        async with AsyncClient(**self._client_args) as client:
            limit = asyncio.Semaphore(self.concurrency)
            while True:
                batch, marker = self._take_batch()
                if batch:
                    await self._send_batch(client, limit, batch)
                self._report_drops()
                if marker is not None:
                    marker.done.set()
                    if marker.stop:
                        return

    def _take_batch(self) -> tuple[list[tuple[Kind, Body]], _Marker | None]:
        """Up to ``batch_size`` items, waiting at most ``flush_interval`` after the first."""
        batch: list[tuple[Kind, Body]] = []
        item = self._queue.get()
        deadline = time.monotonic() + self.flush_interval
        while True:
            if isinstance(item, _Marker):
                return batch, item
            batch.append(item)
            if len(batch) >= self.batch_size:
                return batch, None
            wait = deadline - time.monotonic()
            if wait <= 0:
                return batch, None
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                return batch, None

    async def _send_batch(
        self, client: AsyncClient, limit: asyncio.Semaphore, batch: list[tuple[Kind, Body]]
    ) -> None:
        conversations: dict[str, dict[str, Any]] = {}
        anonymous: list[dict[str, Any]] = []
        later: list[Call[Any]] = []
        for kind, body in batch:
            try:
                wire = to_body(body) if isinstance(body, BaseModel) else dict(body)
            except Exception:  # a body we cannot read is counted, not raised
                self._failed += 1
                log.warning("convoscope: could not read a %s body", kind, exc_info=True)
                continue
            if kind == "conversation":
                conversation_id = wire.get("id")
                if isinstance(conversation_id, str) and conversation_id:
                    # dict order is insertion order: the last body lands in the first place
                    conversations[conversation_id] = wire
                else:
                    anonymous.append(wire)
            elif kind == "feedback":
                later.append(Calls.log_feedback(wire))
            else:
                later.append(Calls.log_event(wire))
        first = [Calls.log_conversation(w) for w in [*conversations.values(), *anonymous]]
        await asyncio.gather(*(self._send(client, limit, call) for call in first))
        await asyncio.gather(*(self._send(client, limit, call) for call in later))

    async def _send(self, client: AsyncClient, limit: asyncio.Semaphore, call: Call[Any]) -> None:
        async with limit:
            try:
                response = await client._send(call)
                if response.is_success:
                    self._sent += 1
                    return
                problem = error_from(response)
            except ConvoscopeClientError as err:
                problem = err
            except Exception as err:  # the sender thread must live on
                problem = err
        self._failed += 1
        log.warning("convoscope: gave up sending %s %s: %s", call.method, call.path, problem)

    def _report_drops(self) -> None:
        dropped = self._dropped
        if dropped > self._dropped_logged:
            log.warning(
                "convoscope: dropped %d logged items (queue of %d full); %d in all",
                dropped - self._dropped_logged,
                self.max_queue,
                dropped,
            )
            self._dropped_logged = dropped


def _after_fork_in_child() -> None:
    # The parent's sender thread does not exist here, and its queue's lock may have been
    # held at the fork: every logger starts afresh on its next log.
    for logger in list(_live):
        logger._reset()


def _flush_at_exit() -> None:
    for logger in list(_live):
        if logger._pid == os.getpid() and logger._thread is not None:
            logger.shutdown(timeout=5.0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_flush_at_exit)
