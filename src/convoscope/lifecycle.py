"""Background work in one shape: ``async with service:`` starts it, leaving stops it.

A ``Service`` runs ``step()`` on the event loop again and again; each step returns the
seconds to wait before the next, or None for the service's ``interval``. A step that
raises is logged and tried again after a wait that doubles with each failure in a row,
from ``retry`` up to ``retry_max``; a step that succeeds resets it. ``stop()`` ends the
loop and waits at most ``stop_timeout`` seconds for the step under way, then cancels
it, so a server's stop takes seconds, not as long as its longest job. ``stopped()``
then releases what the service holds.

Annotation, planner statistics, path indexing and retention are services, and each runs
in one server process at a time under a lease (``store/leases.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)


class Service:
    """Subclasses name themselves (``name``), override ``step`` for periodic work, and
    ``started`` / ``stopped`` for what is taken on entry and given back on exit."""

    name = "background work"

    def __init__(
        self,
        *,
        interval: float = 60.0,
        first_after: float = 0.0,
        retry: float = 1.0,
        retry_max: float = 300.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.interval = interval
        self.first_after = first_after
        self.retry = retry
        self.retry_max = retry_max
        self.stop_timeout = stop_timeout
        self.failures = 0  # in a row
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._stopping.clear()
        await self.started()
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def stopping(self) -> bool:
        """Set once ``stop()`` is called: a long step checks it between its parts."""
        return self._stopping.is_set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the loop of steps (entering the service also runs ``started`` first)."""
        if self._task is not None:
            return
        self._stopping.clear()
        if type(self).step is not Service.step:
            self._task = asyncio.create_task(self._loop(), name=f"convoscope {self.name}")

    async def stop(self, timeout: float | None = None) -> None:
        """End the loop; a step still running after ``timeout`` (``stop_timeout``) is
        cancelled."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            limit = self.stop_timeout if timeout is None else timeout
            done, _ = await asyncio.wait({task}, timeout=limit)
            if not done:
                log.warning("%s did not stop within %g s; cancelled", self.name, limit)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.stopped()

    def wake(self) -> None:
        """Run the next step now rather than after the wait."""
        self._wake.set()

    async def started(self) -> None:
        """Before the first step: take what the service needs."""

    async def stopped(self) -> None:
        """After the last step: give back what the service holds."""

    async def step(self) -> float | None:
        """One round of the work; the seconds to wait before the next, None for
        ``interval``. The default has no work: the service only starts and stops."""
        return None

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``, or less if woken; whether the service is stopping."""
        if seconds > 0 and not self._stopping.is_set():
            waits = [
                asyncio.ensure_future(self._stopping.wait()),
                asyncio.ensure_future(self._wake.wait()),
            ]
            try:
                await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
        self._wake.clear()
        return self._stopping.is_set()

    def retry_after(self) -> float:
        """The wait after the latest failure: ``retry``, doubled with each in a row."""
        return float(min(self.retry * 2.0 ** max(self.failures - 1, 0), self.retry_max))

    async def _loop(self) -> None:
        if await self.sleep(self.first_after):
            return
        while not self._stopping.is_set():
            try:
                wait = await self.step()
                self.failures = 0
            except Exception:
                self.failures += 1
                wait = self.retry_after()
                log.exception("%s failed; trying again in %.1f s", self.name, wait)
            if await self.sleep(self.interval if wait is None else wait):
                return
