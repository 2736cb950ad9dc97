"""When the annotation worker holds off: while requests are writing.

Every write goes through one writer thread, and the server has one GIL. The worker's
claims, its reads of links and feedback and its result writes all run there too, and
while conversations arrive they took about a third of the ingest rate, though the
analysis itself runs in a child process at nice 10. Annotation can wait; a logged
conversation cannot, so the worker starts a batch only once the writer is quiet:
nothing queued, and fewer than ``max_rate`` request writes a second lately. It catches
up when ingest pauses, and ``longest_wait`` bounds how long it waits under sustained
ingest, so annotations fall behind but never stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from convoscope.store import Writer


@dataclass(frozen=True, slots=True)
class YieldSettings:
    # Request writes per second at which ingest counts as busy.
    max_rate: float = 20.0
    # Jobs queued for the writer at which it counts as busy (0: any).
    max_waiting: int = 0
    # The rate is measured over this window.
    window_seconds: float = 1.0
    # How often a waiting worker looks again.
    check_seconds: float = 0.25
    # Under ingest that never pauses, a batch runs anyway after this long.
    longest_wait_seconds: float = 30.0


class WritePressure:
    """``busy()``: whether requests are keeping the writer at work right now."""

    def __init__(
        self,
        writer: Writer,
        settings: YieldSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._writer = writer
        self.settings = settings or YieldSettings()
        self._clock = clock
        # The start of the current window, and the request writes counted by then.
        self._since = clock()
        self._writes = writer.foreground_writes
        # The rate of the last complete window.
        self._rate = 0.0

    def rate(self) -> float | None:
        """Request writes a second: over the last complete window, or the current one when
        it already holds more; None when the last look is too old to say (the worker was
        busy for a while): a new window starts, and the next look tells."""
        now = self._clock()
        writes = self._writer.foreground_writes
        elapsed = now - self._since
        window = self.settings.window_seconds
        if elapsed > 2 * window:
            # Averaged over a long time, a burst that just began would look quiet.
            self._since, self._writes, self._rate = now, writes, 0.0
            return None
        current = (writes - self._writes) / max(elapsed, window / 4)
        if elapsed >= window:
            self._since, self._writes, self._rate = now, writes, current
            return current
        return max(self._rate, current)

    def busy(self) -> bool:
        if self._writer.waiting > self.settings.max_waiting:
            return True
        rate = self.rate()
        return rate is None or rate >= self.settings.max_rate

    def now(self) -> float:
        return self._clock()
