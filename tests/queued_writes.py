"""Writes queued from a test's own thread the way the server queues them: ``Writer.run``,
awaited on an event loop (one thread of its own, shared by the tests)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import cache
from typing import TypeVar

from sqlalchemy import Connection

from convoscope.store import Writer

T = TypeVar("T")


@cache
def _loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="test-write-loop", daemon=True).start()
    return loop


def queue_write(writer: Writer, job: Callable[[Connection], T]) -> Future[T]:
    """Queue ``job`` and return once it is in the writer's queue (or refused: the future
    then holds the error); the future resolves once its transaction has committed."""
    queued = threading.Event()

    async def run() -> T:
        task = asyncio.ensure_future(writer.run(job))
        await asyncio.sleep(0)  # the task's first step, which queues the job, has run
        queued.set()
        return await task

    future = asyncio.run_coroutine_threadsafe(run(), _loop())
    queued.wait(10)
    return future
