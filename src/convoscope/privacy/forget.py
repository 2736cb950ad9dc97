"""Forgetting one person: every conversation, feedback and event of theirs, then the disk.

The user is found by ``userProperties.id``, ``userProperties.userId`` and the keys the
project names (``convoscope projects set P --user-identifiers email``), as sent or as the
project's redaction stored them (a hashed placeholder when the id is an email address).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from anyio import to_thread
from sqlalchemy import Connection, Engine

from convoscope.errors import InvalidInput
from convoscope.store import Database, writer_connection
from convoscope.store.erasure import Erased, forget_user, free_space, record_erasure
from convoscope.store.privacy import BUILTIN_USER_IDENTIFIERS, identifier_forms, load_privacy


@dataclass(frozen=True, slots=True)
class Forgotten:
    erased: Erased
    dry_run: bool
    # The audit row's id; None for a dry run, which records nothing.
    erasure_id: str | None


def forget_job(
    project_id: str, user_id: str, *, requested_by: str, dry_run: bool
) -> Callable[[Connection], Forgotten]:
    """The write that deletes (or counts) the user's data and records the erasure."""
    if not user_id.strip():
        raise InvalidInput("name the user to forget", field="userId")

    def job(conn: Connection) -> Forgotten:
        started = datetime.now(UTC)
        settings = load_privacy(conn, project_id)
        keys = (*BUILTIN_USER_IDENTIFIERS, *settings.user_identifiers)
        forms = identifier_forms(conn, project_id, user_id)
        erased = forget_user(conn, project_id, keys, forms, dry_run=dry_run)
        erasure_id = None
        if not dry_run:
            erasure_id = record_erasure(
                conn,
                project_id,
                reason="forget",
                requested_by=requested_by,
                started_at=started,
                finished_at=datetime.now(UTC),
                erased=erased,
            )
        return Forgotten(erased, dry_run, erasure_id)

    return job


async def forget(
    db: Database, project_id: str, user_id: str, *, requested_by: str, dry_run: bool
) -> Forgotten:
    """Through the server's writer; the disk is freed before this returns."""
    result = await db.write(
        forget_job(project_id, user_id, requested_by=requested_by, dry_run=dry_run)
    )
    if not dry_run:
        await to_thread.run_sync(lambda: free_space(db.engine, thorough=True))
    return result


def forget_now(
    engine: Engine, project_id: str, user_id: str, *, requested_by: str, dry_run: bool
) -> Forgotten:
    """The same on an engine of its own (the CLI)."""
    job = forget_job(project_id, user_id, requested_by=requested_by, dry_run=dry_run)
    with writer_connection(engine) as conn, conn.begin():
        result = job(conn)
    if not dry_run:
        free_space(engine, thorough=True)
    return result
