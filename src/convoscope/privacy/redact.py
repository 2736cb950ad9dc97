"""Redacting a project's stored data again, with its current redaction settings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from convoscope.errors import InvalidInput
from convoscope.store import writer_connection
from convoscope.store.prepared import in_chunks
from convoscope.store.privacy import make_redactor
from convoscope.store.redaction_pass import TABLES, count_rows, redact_batch, rederive

Progress = Callable[[str, int], None]


@dataclass(slots=True)
class RedactionRun:
    """Rows read and changed per table, placeholders per kind, threads derived again."""

    rows: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    rederived: int = 0


def totals(engine: Engine, project_id: str) -> dict[str, int]:
    with engine.connect() as conn:
        return count_rows(conn, project_id)


def redact_stored(
    engine: Engine,
    project_id: str,
    *,
    apply: bool,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> RedactionRun:
    """Go through every stored row of the project; ``apply`` writes the redacted values."""
    with engine.connect() as conn:
        redactor = make_redactor(conn, project_id)
    if redactor is None:
        raise InvalidInput(
            "redaction is off for this project; turn it on with "
            "`convoscope projects set P --redact default` first",
            field="project",
        )
    run = RedactionRun()
    touched: set[str] = set()
    for table in TABLES:
        after: str | None = None
        while True:
            # The write lock first: the server may be writing (store/engine.py).
            with writer_connection(engine) as conn, conn.begin():
                batch = redact_batch(
                    conn, project_id, table, redactor, after=after, limit=batch_size, apply=apply
                )
            run.rows[table] += batch.rows
            run.changed[table] += batch.changed
            touched |= batch.touched
            if progress is not None and batch.rows:
                progress(table, batch.rows)
            if batch.rows < batch_size or batch.last_id is None:
                break
            after = batch.last_id
    if apply:
        for chunk in in_chunks(sorted(touched), batch_size):
            with writer_connection(engine) as conn, conn.begin():
                rederive(conn, project_id, chunk)
        run.rederived = len(touched)
    run.kinds.update(redactor.counts)
    return run
