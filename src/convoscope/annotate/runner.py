"""Where the analyzer runs: in this process (tests, the CLI) or in a child process (the
server), so that its CPU work never holds the server's GIL and never slows ingestion."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol, TypeVar

from convoscope.annotate.model import Analyzer, Annotation, ProjectContext, ThreadText

log = logging.getLogger(__name__)

Sourced = list[tuple[Annotation, str]]
T = TypeVar("T")
AnalyzerFactory = Callable[[], Analyzer]


def annotate_sourced(
    analyzer: Analyzer, threads: Sequence[ThreadText], context: ProjectContext
) -> Sourced:
    """Annotations with the analyzer (and version) that produced each one."""
    sourced = getattr(analyzer, "analyze_sourced", None)
    if sourced is not None:
        result: Sourced = sourced(threads, context)
        return result
    source = f"{analyzer.name}:{analyzer.version}"
    return [(a, source) for a in analyzer.analyze_batch(threads, context)]


def fit(
    analyzer: Analyzer, threads: Sequence[ThreadText], context: ProjectContext
) -> ProjectContext:
    """Learn the project's glossary and categories, when the analyzer can."""
    fit_context = getattr(analyzer, "fit_context", None)
    if fit_context is None:
        return context
    fitted: ProjectContext = fit_context(threads, context)
    return fitted


class AnalyzerRunner(Protocol):
    async def annotate(self, threads: Sequence[ThreadText], context: ProjectContext) -> Sourced: ...

    async def fit(
        self, threads: Sequence[ThreadText], context: ProjectContext
    ) -> ProjectContext: ...

    def close(self) -> None: ...


class InProcessRunner:
    """Runs the analyzer on a worker thread of this process."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer

    async def annotate(self, threads: Sequence[ThreadText], context: ProjectContext) -> Sourced:
        return await asyncio.to_thread(annotate_sourced, self.analyzer, threads, context)

    async def fit(self, threads: Sequence[ThreadText], context: ProjectContext) -> ProjectContext:
        return await asyncio.to_thread(fit, self.analyzer, threads, context)

    def close(self) -> None:
        pass


# The child process's analyzer, made once by the pool's initializer.
_child_analyzer: Analyzer | None = None


def _start_child(factory: AnalyzerFactory, parent: int) -> None:
    global _child_analyzer
    _die_with(parent)
    os.nice(10)  # ingestion comes first when both want the CPU
    _child_analyzer = factory()


# prctl(2)'s option for a signal sent to this process when its parent dies.
_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """End this process when ``parent`` dies, even by ``kill -9``.

    A child left behind kept its analyzer (and the resource tracker waiting on it) in
    memory, 450-610 MB, after the server was killed. On Linux the kernel sends SIGKILL;
    elsewhere a thread checks every second whether the parent is still there.
    """
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    # Also on Linux: the parent may have died before prctl was called.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _child_annotate(threads: Sequence[ThreadText], context: ProjectContext) -> Sourced:
    assert _child_analyzer is not None
    return annotate_sourced(_child_analyzer, threads, context)


def _child_fit(threads: Sequence[ThreadText], context: ProjectContext) -> ProjectContext:
    assert _child_analyzer is not None
    return fit(_child_analyzer, threads, context)


def _child_pid() -> int:
    return os.getpid()


class SubprocessRunner:
    """Runs the analyzer in one child process, at a lower priority than the server.

    When the child dies (killed, out of memory, a crash in native code) the pool it ran in
    is broken for good, so a fresh child is started and the call is made once more; if the
    fresh child dies on it too, the call fails and its batch is retried later.
    """

    def __init__(self, factory: AnalyzerFactory) -> None:
        self._factory = factory
        self._pool = self._new_pool()
        self.restarts = 0

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server has threads (the writer), and forking them is unsafe.
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_child,
            initargs=(self._factory, os.getpid()),
        )

    async def _call(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            return await loop.run_in_executor(pool, function, *args)
        except BrokenProcessPool:
            log.warning("the analyzer process died; starting a new one")
            if self._pool is pool:  # not already replaced by a concurrent call
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                self.restarts += 1
        return await loop.run_in_executor(self._pool, function, *args)

    async def pid(self) -> int:
        """The process id of the child (started if need be)."""
        return await self._call(_child_pid)

    async def annotate(self, threads: Sequence[ThreadText], context: ProjectContext) -> Sourced:
        return await self._call(_child_annotate, list(threads), context)

    async def fit(self, threads: Sequence[ThreadText], context: ProjectContext) -> ProjectContext:
        return await self._call(_child_fit, list(threads), context)

    def close(self, *, grace: float = 2.0) -> None:
        """Stop the child: it may finish its call for ``grace`` seconds, then it is killed.

        Waiting for the call could take long: a category fit over 6,000 threads held a
        stop for 47 s. A call cut short leaves its threads claimed; their lease runs out
        and they are annotated after the next start.
        """
        # The pool has no public handle on its processes; a long call must be cut short.
        processes = list((self._pool._processes or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("the analyzer process did not stop in %.0f s; killing it", grace)
                process.kill()
                process.join(5)
