"""The annotation worker: claims threads that need annotating, annotates them in batches
off the request path, writes the fields back, and retries failures with backoff.

A conversation upsert queues its new and changed threads as pending (``store/threads.py``);
the worker finds them by their status. A claim is a status and a time: after a crash the
claimed threads are simply claimed again once the lease has passed, and a thread whose
text changed while it was being annotated is not overwritten with annotations of its old
text. In the background the worker holds off while requests write (``pressure.py``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from convoscope.annotate.model import CategoryModel, ProjectContext, ThreadText
from convoscope.annotate.pressure import WritePressure
from convoscope.annotate.runner import AnalyzerRunner
from convoscope.lifecycle import Service
from convoscope.store import Database
from convoscope.store import annotations as store

log = logging.getLogger(__name__)

# Threads a category model is fitted on at most (the most recent ones).
_FIT_SAMPLE = 20_000


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    batch_size: int = 64
    poll_seconds: float = 2.0
    lease: timedelta = timedelta(minutes=10)
    max_attempts: int = 5
    backoff: timedelta = timedelta(seconds=30)
    # A project's categories are fitted once it has this many threads, and refitted
    # each time it has doubled since.
    min_threads_to_fit: int = 20
    # A first fit is on at most this many of the project's threads, and each refit on
    # twice as many as the one before, up to all of them (or the sample's cap). A fit
    # embeds every thread it learns from before the round annotates any: fitted on a
    # backlog of thousands left behind by ingest, on a busy machine, the first one took
    # longer than a minute in which nothing was annotated.
    first_fit_threads: int = 1_000
    # How often a project's thread count is checked for a refit; counting a large
    # project's threads every batch would cost more than the batch.
    refit_check_seconds: float = 60.0
    # A project whose round failed (or whose fit failed) waits this long before the next
    # try, doubling with each failure in a row up to project_backoff_max; the other
    # projects go on meanwhile.
    project_backoff: timedelta = timedelta(seconds=30)
    project_backoff_max: timedelta = timedelta(minutes=30)


class _Backoff:
    """Failures in a row of one kind of work, per project, and when each may run again."""

    def __init__(self, first: timedelta, most: timedelta) -> None:
        self._first = first.total_seconds()
        self._most = most.total_seconds()
        self._failures: dict[str, tuple[int, float]] = {}

    def waiting(self, project_id: str) -> bool:
        entry = self._failures.get(project_id)
        return entry is not None and time.monotonic() < entry[1]

    def failed(self, project_id: str) -> float:
        """Record a failure; return the seconds to wait."""
        count = self._failures.get(project_id, (0, 0.0))[0] + 1
        wait: float = min(self._first * 2.0 ** (count - 1), self._most)
        self._failures[project_id] = (count, time.monotonic() + wait)
        return wait

    def succeeded(self, project_id: str) -> None:
        self._failures.pop(project_id, None)


class AnnotationWorker(Service):
    """``async with AnnotationWorker(db, runner):`` annotates in the background.

    Tests call ``run_once()`` instead, which does one round and returns how many
    threads it annotated.
    """

    name = "annotation round"

    def __init__(
        self,
        db: Database,
        runner: AnalyzerRunner,
        settings: WorkerSettings | None = None,
        *,
        pressure: WritePressure | None = None,
    ) -> None:
        settings = settings or WorkerSettings()
        # Stops within a few seconds: a round still running after stop_timeout is
        # cancelled, and its claimed threads wait for their lease to run out (the work
        # stays queued). A failed round is tried again with backoff; the claim lease
        # recovers its batch.
        super().__init__(
            interval=settings.poll_seconds,
            retry=settings.poll_seconds,
            retry_max=settings.project_backoff_max.total_seconds(),
            stop_timeout=2.0,
        )
        self._db = db
        self._runner = runner
        self.settings = settings
        # In the background the worker holds off while requests write (pressure.py).
        self.pressure = pressure or WritePressure(db.writer)
        # Times it looked and found ingest busy, and batches it ran anyway after waiting
        # the longest: what a test (and a curious operator) can read.
        self.deferrals = 0
        self.overdue_batches = 0
        # project -> (context, when its thread count was last checked)
        self._contexts: dict[str, tuple[ProjectContext, float]] = {}
        self._rounds = _Backoff(self.settings.project_backoff, self.settings.project_backoff_max)
        self._fits = _Backoff(self.settings.project_backoff, self.settings.project_backoff_max)
        self._yielding = False
        self._round_started = 0.0

    async def stopped(self) -> None:
        self._runner.close()

    async def step(self) -> float | None:
        """One round, holding off while requests write; the next at once while there was
        work, else after the poll."""
        return 0.0 if await self.run_once(yielding=True) else None

    async def run_once(self, project_id: str | None = None, *, yielding: bool = False) -> int:
        """Annotate one batch per project with work; return how many threads got done.

        A project whose batch fails for any reason other than the analyzer (which the
        threads' own retries cover) is skipped, with backoff, while the others go on.
        ``yielding`` (the background loop) waits for ingest to be quiet before each of
        the round's reads and writes."""
        self._yielding = yielding
        # The longest wait counts from the round's start: an overdue round runs whole.
        self._round_started = self.pressure.now()
        await self._wait_for_quiet()
        now = datetime.now(UTC)
        lease = self.settings.lease
        if project_id is None:
            projects = await self._db.read(
                lambda conn: store.projects_with_work(conn, now=now, lease=lease)
            )
        else:
            projects = [project_id]
        done = 0
        for project in projects:
            if self._rounds.waiting(project):
                continue
            try:
                done += await self._annotate_project(project)
            except Exception:
                wait = self._rounds.failed(project)
                log.exception("annotating %s failed; it waits %.0f s", project, wait)
            else:
                self._rounds.succeeded(project)
        return done

    async def _wait_for_quiet(self) -> None:
        """Hold off while requests keep the writer busy, up to the longest wait."""
        if not self._yielding:
            return
        limits = self.pressure.settings
        while self.pressure.busy() and not self.stopping:
            if self.pressure.now() - self._round_started >= limits.longest_wait_seconds:
                self.overdue_batches += 1
                return
            self.deferrals += 1
            await self.sleep(limits.check_seconds)

    async def _annotate_project(self, project_id: str) -> int:
        # Before the context too: refitting a project's categories reads its threads.
        await self._wait_for_quiet()
        context = await self._context(project_id)
        await self._wait_for_quiet()
        now = datetime.now(UTC)
        claimed = await self._db.write(
            lambda conn: store.claim_threads(
                conn,
                project_id,
                limit=self.settings.batch_size,
                now=now,
                lease=self.settings.lease,
            ),
            background=True,
        )
        if not claimed:
            return 0
        texts = [
            ThreadText(
                question=c.question,
                answer=c.answer,
                link_titles=c.link_titles,
                link_urls=c.link_urls,
                has_negative_feedback=c.has_negative_feedback,
                has_positive_feedback=c.has_positive_feedback,
            )
            for c in claimed
        ]
        try:
            results = await self._runner.annotate(texts, context)
        except Exception as err:  # the whole batch failed: each thread retries later
            log.warning("annotating %d threads of %s failed: %s", len(claimed), project_id, err)
            message = f"{type(err).__name__}: {err}"

            def fail_all(conn: Connection) -> None:
                for thread in claimed:
                    store.record_failure(
                        conn,
                        thread,
                        message,
                        max_attempts=self.settings.max_attempts,
                        backoff=self.settings.backoff,
                    )

            await self._db.write(fail_all, background=True)
            return 0

        # The analysis took a while: ingest may have started meanwhile.
        await self._wait_for_quiet()

        def save_all(conn: Connection) -> int:
            saved = 0
            for thread, (annotation, source) in zip(claimed, results, strict=True):
                saved += store.save_annotation(conn, thread, annotation.to_columns(), source=source)
            return saved

        return await self._db.write(save_all, background=True)

    async def _context(self, project_id: str) -> ProjectContext:
        """The project's context, refitted when the project has grown enough since."""
        now = time.monotonic()
        cached = self._contexts.get(project_id)
        if cached is not None and now - cached[1] < self.settings.refit_check_seconds:
            return cached[0]
        context = await self._fitted_context(project_id)
        self._contexts[project_id] = (context, now)
        return context

    async def _fitted_context(self, project_id: str) -> ProjectContext:
        """The project's context, with its categories (re)fitted when it has grown enough."""
        stored, total = await self._db.read(
            lambda conn: (
                store.load_context(conn, project_id),
                store.count_threads(conn, project_id),
            )
        )
        context = ProjectContext(
            glossary=tuple(stored.glossary),
            learned_glossary=tuple(stored.learned_glossary),
            categories=CategoryModel.from_json_dict(stored.category_model)
            if stored.category_model
            else None,
        )
        wanted = max(self.settings.min_threads_to_fit, 2 * stored.fitted_threads)
        if total < wanted or self._fits.waiting(project_id):
            return context
        limit = min(_FIT_SAMPLE, max(self.settings.first_fit_threads, wanted))
        sample = await self._db.read(
            lambda conn: store.thread_texts_for_fitting(conn, project_id, limit=limit)
        )
        texts = [ThreadText(q, a, titles, urls) for q, a, titles, urls in sample]
        try:
            fitted = await self._runner.fit(texts, context)
        except Exception:
            # Annotating goes on with the categories fitted before; the fit is tried again.
            wait = self._fits.failed(project_id)
            log.exception("fitting %s failed; next try in %.0f s", project_id, wait)
            return context
        self._fits.succeeded(project_id)
        updated = store.StoredContext(
            glossary=list(fitted.glossary),
            learned_glossary=list(fitted.learned_glossary),
            category_model=fitted.categories.to_json_dict() if fitted.categories else None,
            # A sample short of what there is counts as its own size, so that the next
            # refit, on twice as many, comes at the next check.
            fitted_threads=len(texts) if len(texts) < min(total, _FIT_SAMPLE) else total,
        )
        await self._db.write(
            lambda conn: store.save_context(conn, project_id, updated), background=True
        )
        log.info("fitted the categories of %s on %d threads", project_id, len(texts))
        return fitted
