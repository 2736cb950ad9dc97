"""``convoscope import``: lines in, whole conversations out, many per transaction.

Lines are read in batches of whole conversations; a batch is one transaction, so no
conversation is ever half imported, and a run cut short leaves whole batches behind: run
again, it skips what is already stored (``compare.py``) and ends in the same state.
Conversations new to the project take the batched path (``store.transfer``); those
already stored, and their feedback and events, go through the API's own upserts.

On SQLite a batch commits without waiting for the disk (``synchronous=NORMAL`` on the
import's own connection): a commit stays atomic and survives the command being killed,
and only a power cut could take back the last batches, which running the import again
restores. The write-ahead log is flushed to disk once, at the end, so a finished import
is as durable as a server's writes. Each batch's commit used to wait for the disk;
without those waits an import of 20,000 conversations also wrote 267 MB instead of 317.
Nor does each batch set off a checkpoint: a batch writes more than SQLite's threshold of
1,000 pages, and every checkpoint still syncs the log and the file under NORMAL (and
copies again the index pages the next batch rewrites). The import's connection
checkpoints every ``_CHECKPOINT_PAGES`` instead, and once at the end, so a server
sharing the file does not inherit a long log to copy on its next commit (a commit took
a seventh of the import's time, 100,000 conversations, bench/import.py).

One bad line must fail alone. As in the server's writer, the batch first runs without
savepoints; when something in it fails, it is rolled back and run again with a savepoint
around each line, and the line at fault is reported and skipped (or, ``strict``, ends
the import with every line before it imported).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DataError, IntegrityError

from convoscope.errors import ConvoscopeError, InvalidInput
from convoscope.store import Scope
from convoscope.store import transfer as bulk
from convoscope.store.conversations import get_conversations, upsert_conversation
from convoscope.store.events import insert_event
from convoscope.store.feedback import upsert_feedback
from convoscope.store.privacy import redact_conversation, redact_event, redact_feedback
from convoscope.transfer.compare import (
    same_conversation,
    same_event,
    same_feedback,
    same_thread,
)
from convoscope.transfer.parse import BadLine, Item, derive_message_ids, parse_line

BATCH_CONVERSATIONS = 2000
# The import's log grows up to this many pages (400 MB) between checkpoints; a batch of
# conversations of four messages writes about 2,500.
_CHECKPOINT_PAGES = 100_000
# What the server's connections keep: SQLite's default (store/engine.py sets none).
_SERVER_CHECKPOINT_PAGES = 1000
# Bounds a batch's memory whatever the conversations' length.
BATCH_MESSAGES = 20_000


@dataclass(slots=True)
class ImportReport:
    lines: int = 0
    conversations: int = 0
    unchanged: int = 0
    feedback: int = 0
    events: int = 0
    threads: int = 0
    bad: int = 0
    # Set when ``strict`` stopped the import at this line.
    stopped_at: BadLine | None = None


class _Refused(Exception):
    """A line the batched path refused before writing any of it."""


def import_lines(
    engine: Engine,
    scope: Scope,
    lines: Iterable[tuple[int, bytes]],
    *,
    strict: bool = False,
    batch_size: int = BATCH_CONVERSATIONS,
    on_bad: Callable[[BadLine], None] = lambda bad: None,
    on_batch: Callable[[ImportReport], None] = lambda report: None,
) -> ImportReport:
    """Import ``(line number, text)`` pairs into the project of ``scope``."""
    with _synced_at_end(engine):
        return _import_lines(
            engine,
            scope,
            lines,
            strict=strict,
            batch_size=batch_size,
            on_bad=on_bad,
            on_batch=on_batch,
        )


@contextmanager
def _synced_at_end(engine: Engine) -> Iterator[None]:
    """SQLite's batches commit without an fsync each and checkpoint seldom; the log is
    checkpointed and synced once at the end.

    Per connection: a server writing to the same file keeps its own settings.
    """
    if engine.dialect.name != "sqlite" or not engine.url.database:
        yield
        return

    # At each checkout, outside a transaction: SQLite refuses the change inside one.
    def defer(dbapi_connection: Any, _record: object, _proxy: object) -> None:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")

    event.listen(engine, "checkout", defer)
    try:
        yield
    finally:
        event.remove(engine, "checkout", defer)
        with engine.connect() as conn:  # on the driver: SQLAlchemy would BEGIN first
            driver: Any = conn.connection.driver_connection
            driver.execute("PRAGMA synchronous=FULL")
            driver.execute(f"PRAGMA wal_autocheckpoint={_SERVER_CHECKPOINT_PAGES}")
            # PASSIVE: it copies what no reader still needs and never waits for one.
            driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        # What the batches' commits wrote is in the log (or already checkpointed into
        # the file, which a checkpoint syncs); one fsync of it makes all of it durable.
        log = f"{engine.url.database}-wal"
        if os.path.exists(log):
            descriptor = os.open(log, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def _import_lines(
    engine: Engine,
    scope: Scope,
    lines: Iterable[tuple[int, bytes]],
    *,
    strict: bool,
    batch_size: int,
    on_bad: Callable[[BadLine], None],
    on_batch: Callable[[ImportReport], None],
) -> ImportReport:
    report = ImportReport()
    batch: list[Item] = []
    ids: set[str] = set()
    messages = 0

    def flush() -> bool:
        nonlocal messages
        done = _commit(engine, scope, batch, report, strict=strict, on_bad=on_bad)
        batch.clear()
        ids.clear()
        messages = 0
        on_batch(report)
        return done

    for number, text in lines:
        item = parse_line(number, text)
        if isinstance(item, BadLine):
            report.lines += 1
            report.bad += 1
            on_bad(item)
            if strict:
                flush()
                report.stopped_at = item
                return report
            continue
        conversation_id = item.conversation.id if item.conversation is not None else None
        # One conversation twice in a batch: the second is an update of the first.
        if conversation_id in ids and not flush():
            return report
        batch.append(item)
        if conversation_id is not None:
            ids.add(conversation_id)
            messages += len(item.conversation.messages) if item.conversation else 0
        if (len(batch) >= batch_size or messages >= BATCH_MESSAGES) and not flush():
            return report
    if batch:
        flush()
    return report


def _commit(
    engine: Engine,
    scope: Scope,
    batch: list[Item],
    report: ImportReport,
    *,
    strict: bool,
    on_bad: Callable[[BadLine], None],
) -> bool:
    """Write the batch in one transaction; False once ``strict`` stopped the import."""
    if not batch:
        return True
    try:
        with engine.begin() as conn:
            counts, refused = _write(conn, scope, batch, probe=False)
            if refused and strict:  # stop at the first of them, with the lines before it
                raise _Refused
    except (_Refused, ConvoscopeError, IntegrityError, DataError):
        return _commit_fenced(engine, scope, batch, report, strict=strict, on_bad=on_bad)
    for item, err in refused:
        on_bad(_bad_line(item, err))
    counts["bad"] += len(refused)
    _add(report, counts, len(batch))
    return True


def _commit_fenced(
    engine: Engine,
    scope: Scope,
    batch: list[Item],
    report: ImportReport,
    *,
    strict: bool,
    on_bad: Callable[[BadLine], None],
) -> bool:
    counts: Counter[str] = Counter()
    done = 0
    stopped: BadLine | None = None
    with engine.begin() as conn:
        for item in batch:
            done += 1
            savepoint = conn.begin_nested()
            try:
                line_counts, refused = _write(conn, scope, [item], probe=True)
                if refused:
                    raise refused[0][1]
            except (ConvoscopeError, IntegrityError, DataError) as err:
                savepoint.rollback()
                bad = _bad_line(item, err)
                on_bad(bad)
                counts["bad"] += 1
                if strict:
                    stopped = bad
                    break
            else:
                savepoint.commit()
                counts.update(line_counts)
    _add(report, counts, done)
    report.stopped_at = stopped
    return stopped is None


def _add(report: ImportReport, counts: Counter[str], lines: int) -> None:
    report.lines += lines
    report.conversations += counts["conversations"]
    report.unchanged += counts["unchanged"]
    report.feedback += counts["feedback"]
    report.events += counts["events"]
    report.threads += counts["threads"]
    report.bad += counts["bad"]


def _write(
    conn: Connection, scope: Scope, items: list[Item], *, probe: bool
) -> tuple[Counter[str], list[tuple[Item, ConvoscopeError]]]:
    """Write the lines; what was written, and the lines refused before any of it was.

    ``probe``: look for message ids another conversation holds before inserting (one
    line at a time); in a batch a clash fails the insert and the batch is fenced.
    """
    counts: Counter[str] = Counter()
    conversations = [(i, it.conversation) for i, it in enumerate(items) if it.conversation]
    stored = bulk.stored_types(conn, scope, [c.id for _, c in conversations if c.id])
    refused: dict[int, ConvoscopeError] = {}
    new = [(i, derive_message_ids(c)) for i, c in conversations if c.id not in stored]
    outcomes = bulk.insert_conversations(conn, scope, [c for _, c in new], probe=probe)
    for (index, _), outcome in zip(new, outcomes, strict=True):
        if isinstance(outcome, ConvoscopeError):
            refused[index] = outcome
        else:
            counts["conversations"] += 1
    old = [c for _, c in conversations if c.id in stored]
    if old:
        found = get_conversations(conn, scope, [c.id for c in old if c.id])
        for data in old:
            assert data.id is not None
            redacted = redact_conversation(conn, scope.project_id, data)
            if same_conversation(redacted, found[data.id], scope):
                counts["unchanged"] += 1
            else:
                upsert_conversation(conn, scope, data)
                counts["conversations"] += 1
    kept = [it for i, it in enumerate(items) if i not in refused]
    counts.update(_write_feedback(conn, scope, kept))
    counts.update(_write_events(conn, scope, kept))
    counts.update(_write_threads(conn, scope, kept))
    return counts, [(items[i], err) for i, err in sorted(refused.items())]


def _write_feedback(conn: Connection, scope: Scope, items: list[Item]) -> Counter[str]:
    counts: Counter[str] = Counter()
    ids = [f.id for it in items for f, _ in it.feedback if f.id]
    if not ids:
        return counts
    stored = bulk.feedback_by_id(conn, scope, ids)
    for item in items:
        for index, (data, integration_id) in enumerate(item.feedback):
            before = stored.get(data.id or "")
            redacted = redact_feedback(conn, scope.project_id, data)
            if before is not None and same_feedback(redacted, integration_id, before):
                continue
            with _within(f"feedback[{index}]"):
                upsert_feedback(conn, replace(scope, integration_id=integration_id), data)
            counts["feedback"] += 1
    return counts


def _write_events(conn: Connection, scope: Scope, items: list[Item]) -> Counter[str]:
    counts: Counter[str] = Counter()
    ids = [e.id for it in items for e in it.events if e.id]
    if not ids:
        return counts
    stored = bulk.events_by_id(conn, scope, ids)
    for item in items:
        for index, data in enumerate(item.events):
            before = stored.get(data.id or "")
            redacted = redact_event(conn, scope.project_id, data)
            if before is not None and same_event(redacted, scope, before):
                continue
            with _within("event" if item.conversation is None else f"events[{index}]"):
                insert_event(conn, scope, data)
            counts["events"] += 1
    return counts


@contextmanager
def _within(prefix: str) -> Iterator[None]:
    """Errors of a part of a line name their field from the line's top."""
    try:
        yield
    except ConvoscopeError as err:
        err.field = f"{prefix}.{err.field}" if err.field else prefix
        raise


def _write_threads(conn: Connection, scope: Scope, items: list[Item]) -> Counter[str]:
    counts: Counter[str] = Counter()
    sent = [t for it in items for t in it.threads]
    if not sent:
        return counts
    stored = {
        t.id: t
        for states in bulk.thread_states(
            conn, scope, sorted({t.conversation_id for t in sent})
        ).values()
        for t in states
    }
    changed = []
    for item in items:
        for index, t in enumerate(item.threads):
            before = stored.get(t.id)
            if before is None:  # parse_line checked the ids; the messages were refused
                raise InvalidInput(
                    f"no thread {t.id!r} in this conversation", field=f"threads[{index}].id"
                )
            if not same_thread(t, before):
                changed.append(t)
    bulk.restore_threads(conn, scope, changed)
    counts["threads"] += len(changed)
    return counts


def _bad_line(item: Item, err: Exception) -> BadLine:
    if isinstance(err, ConvoscopeError):
        return BadLine(item.line, err.field, err.detail)
    # The database refused it: a value one engine cannot store, a key taken meanwhile.
    cause = getattr(err, "orig", err)
    return BadLine(item.line, None, f"the database refused it: {str(cause).strip()}")
