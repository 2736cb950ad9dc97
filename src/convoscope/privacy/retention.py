"""Retention: conversations older than a project's ``retention_days`` are deleted, with
everything derived from them, in the background and on demand.

Deletes go in batches, each its own write, so requests keep being served in between;
the space is given back once a run is done (store/erasure.py ``free_space``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from anyio import to_thread
from sqlalchemy import Connection, Engine

from convoscope.lifecycle import Service
from convoscope.store import Database, writer_connection
from convoscope.store.erasure import (
    Erased,
    delete_conversations,
    expire_events,
    expired_conversations,
    free_space,
    record_erasure,
)
from convoscope.store.privacy import load_privacy, projects_with_retention

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class RetentionRun:
    """What one run removed (or, dry, would remove), per project."""

    by_project: dict[str, Erased] = field(default_factory=dict)

    @property
    def total(self) -> Erased:
        total = Erased()
        for erased in self.by_project.values():
            total.add(erased)
        return total


def _batch(
    project_id: str, cutoff: datetime, batch_size: int, dry_run: bool
) -> Callable[[Connection], tuple[Erased, bool]]:
    """One write: a batch of expired conversations; (what went, whether more are left)."""

    def job(conn: Connection) -> tuple[Erased, bool]:
        if dry_run:  # counting deletes nothing, so one pass counts all
            ids = expired_conversations(conn, project_id, cutoff, limit=None)
            erased = delete_conversations(conn, project_id, ids, dry_run=True)
            erased.events += expire_events(conn, project_id, cutoff, dry_run=True, limit=0)
            return erased, False
        ids = expired_conversations(conn, project_id, cutoff, limit=batch_size)
        erased = delete_conversations(conn, project_id, ids)
        if len(ids) < batch_size:
            erased.events += expire_events(
                conn, project_id, cutoff, dry_run=False, limit=batch_size
            )
        return erased, erased.total > 0

    return job


def _record(project_id: str, started: datetime, erased: Erased) -> Callable[[Connection], str]:
    def job(conn: Connection) -> str:
        return record_erasure(
            conn,
            project_id,
            reason="retention",
            requested_by="retention",
            started_at=started,
            finished_at=datetime.now(UTC),
            erased=erased,
        )

    return job


def _cutoff_for(conn: Connection, project_id: str, now: datetime) -> datetime | None:
    days = load_privacy(conn, project_id).retention_days
    return None if days is None else now - timedelta(days=days)


def run_retention_now(
    engine: Engine,
    *,
    project_id: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    batch_size: int = 500,
) -> RetentionRun:
    """One run on an engine of its own (the CLI); ``project_id`` None: every project."""
    now = now or _utc_now()
    run = RetentionRun()
    with engine.connect() as conn:
        projects = (
            [project_id]
            if project_id is not None
            else [p for p, _ in projects_with_retention(conn)]
        )
    for project in projects:
        with engine.connect() as conn:
            cutoff = _cutoff_for(conn, project, now)
        if cutoff is None:
            continue
        started = _utc_now()
        erased = Erased()
        more = True
        while more:
            with writer_connection(engine) as conn, conn.begin():
                done, more = _batch(project, cutoff, batch_size, dry_run)(conn)
            erased.add(done)
        run.by_project[project] = erased
        if not dry_run and erased.total:
            with writer_connection(engine) as conn, conn.begin():
                _record(project, started, erased)(conn)
    if not dry_run and run.total.total:
        free_space(engine)
    return run


class RetentionJob(Service):
    """Deletes expired conversations every ``interval_seconds`` while the server runs."""

    name = "retention run"

    def __init__(
        self,
        db: Database,
        *,
        interval_seconds: float = 3600.0,
        batch_size: int = 500,
        clock: Clock = _utc_now,
        first_after_seconds: float = 60.0,
    ) -> None:
        # The first run waits: a long deletion should not compete with a server's start.
        # A failed run is tried again sooner than the next, never later.
        super().__init__(
            interval=interval_seconds,
            first_after=first_after_seconds,
            retry=min(60.0, interval_seconds),
            retry_max=interval_seconds,
        )
        self._db = db
        self._batch_size = batch_size
        self._clock = clock
        self.runs = 0

    async def run_once(self) -> RetentionRun:
        """Delete what has expired in every project; the space is freed after."""
        now = self._clock()
        run = RetentionRun()
        projects = await self._db.read(projects_with_retention)
        for project_id, days in projects:
            if self.stopping:
                break
            cutoff = now - timedelta(days=days)
            started = _utc_now()
            erased = Erased()
            more = True
            while more and not self.stopping:
                done, more = await self._db.write(
                    _batch(project_id, cutoff, self._batch_size, dry_run=False)
                )
                erased.add(done)
            if erased.total:
                run.by_project[project_id] = erased
                await self._db.write(_record(project_id, started, erased))
        if run.total.total:
            await to_thread.run_sync(lambda: free_space(self._db.engine))
        self.runs += 1
        return run

    async def step(self) -> None:
        run = await self.run_once()
        if run.by_project:
            log.info("retention removed %s", run.total)
