"""The dashboard's counts per day, kept up to date in the same transaction as each write.

Counting the conversations, users, feedback and questions of 30 days by reading them
takes seconds at a million conversations (the users alone read every conversation's
JSON). The tables ``conversation_days``, ``user_days``, ``feedback_days`` and
``thread_days`` hold those counts per project, UTC day and integration instead.

Each summary row is the sum of what single conversations contribute: its own row (day
of its first message, integration, user), its feedback (day given, type) and its
threads (day, annotations, feedback flags). A write that changes any of these runs
inside ``kept_current``, which reads the contribution of the conversations it touches
before and after the write and adds the difference (in the server's writer, the
differences of a whole group commit are added up and written once, ``Folded``). The
write paths call it at one
place each (store/conversations.py, feedback.py, annotations.py, erasure.py,
redaction_pass.py), so whatever else they do, the summaries equal a count of the rows.
The one exception is the import's batched insert of new conversations, which counts
the rows it has just written (``add_inserted``) instead of reading them back.
``rebuild`` recomputes a project's summaries from its rows (after a bulk load that
bypassed the write path; migration 0013 does the same for existing data).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement

from convoscope.sql import JsonValue
from convoscope.store.prepared import Prepared, in_chunks, in_list, in_params
from convoscope.store.tables import (
    conversation_days,
    conversations,
    feedback,
    feedback_days,
    semantic_threads,
    thread_days,
    user_days,
)

# Stand-ins for NULL in primary key columns (see tables.py).
NONE = ""
UNKNOWN = -1
USER_KEY_LENGTH = 256

CONVERSATIONS, FEEDBACK, THREADS = "conversations", "feedback", "threads"
EVERYTHING = (CONVERSATIONS, FEEDBACK, THREADS)
SUMMARY_TABLES = (conversation_days, user_days, feedback_days, thread_days)

Key = tuple[Any, ...]
Counts = dict[str, dict[Key, tuple[int, ...]]]


class DayOf(ColumnElement[str]):
    """The UTC day of a stored time as ``YYYY-MM-DD`` text."""

    inherit_cache = True
    type = Text()

    def __init__(self, value: ColumnElement[Any]) -> None:
        self.value = value


@compiles(DayOf, "sqlite")
def _day_sqlite(element: DayOf, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as "2026-03-01 10:30:15.123456" in UTC (store/types.py).
    return f"substr({compiler.process(element.value, **kw)}, 1, 10)"


@compiles(DayOf, "postgresql")
def _day_postgresql(element: DayOf, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char(timezone('UTC', {compiler.process(element.value, **kw)}), 'YYYY-MM-DD')"


def user_key(column: ColumnElement[Any] = conversations.c.user_properties) -> ColumnElement[str]:
    """userProperties.id as the JSON text the query engine's countDistinct compares (NULL
    when absent), cut to the length a key column holds."""
    return func.substr(cast(JsonValue(column, ("id",)), Text), 1, USER_KEY_LENGTH)


def day_of(value: datetime) -> str:
    return value.astimezone(UTC).date().isoformat()


def _tri(value: bool | None) -> int:
    return UNKNOWN if value is None else int(bool(value))


@cache
def _conversation_rows(count: int) -> Prepared:
    c = conversations.c
    return Prepared(
        select(c.first_message_time, c.integration_id, user_key()).where(
            c.project_id == bindparam("project_id"), in_list(c.id, "id", count)
        )
    )


@cache
def _feedback_rows(count: int) -> Prepared:
    f = feedback.c
    return Prepared(
        select(f.created_at, f.integration_id, f.type).where(
            f.project_id == bindparam("project_id"), in_list(f.conversation_id, "id", count)
        )
    )


_THREAD_COLUMNS = (
    semantic_threads.c.first_message_time,
    semantic_threads.c.integration_id,
    semantic_threads.c.category,
    semantic_threads.c.sentiment,
    semantic_threads.c.is_documented,
    semantic_threads.c.is_answer_confident,
    semantic_threads.c.has_positive_feedback,
    semantic_threads.c.has_negative_feedback,
)


@cache
def _thread_rows(count: int) -> Prepared:
    t = semantic_threads.c
    return Prepared(
        select(*_THREAD_COLUMNS).where(
            t.project_id == bindparam("project_id"),
            in_list(t.conversation_id, "id", count),
            # A re-log rewrites only its last threads: reading the others, before and
            # after, made a turn's cost grow with its conversation.
            t.position >= bindparam("threads_from"),
        )
    )


_ONE_THREAD = Prepared(
    select(*_THREAD_COLUMNS).where(
        semantic_threads.c.project_id == bindparam("project_id"),
        semantic_threads.c.id == bindparam("thread_id"),
    )
)


def _add_to(counts: dict[Key, tuple[int, ...]], key: Key, values: tuple[int, ...]) -> None:
    """Add ``values`` column by column to what ``counts`` holds for ``key``."""
    found = counts.get(key)
    counts[key] = (
        values if found is None else tuple(a + b for a, b in zip(found, values, strict=True))
    )


class _Counter:
    def __init__(self) -> None:
        self.counts: Counts = {t.name: {} for t in SUMMARY_TABLES}

    def add(self, table: Table, key: Key, values: tuple[int, ...]) -> None:
        _add_to(self.counts[table.name], key, values)

    def add_conversations(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows of (first message time, integration id, user key)."""
        for first, integration, user in rows:
            day, integration = day_of(first), integration or NONE
            self.add(conversation_days, (day, integration), (1,))
            if user is not None:
                self.add(user_days, (day, integration, user), (1,))

    def add_threads(self, rows: Iterable[tuple[Any, ...]]) -> None:
        # Like rows counted first, in C: a conversation's threads mostly share theirs.
        for row, n in Counter(rows).items():
            first, integration, category, sentiment, documented, confident, pos, neg = row
            key = (
                day_of(first),
                integration or NONE,
                NONE if category is None else category,
                NONE if sentiment is None else sentiment,
                _tri(documented),
                _tri(confident),
            )
            self.add(thread_days, key, (n, n * bool(pos), n * bool(neg)))


def snapshot(
    conn: Connection,
    project_id: str,
    conversation_ids: Iterable[str],
    parts: Sequence[str],
    *,
    threads_from: int = 0,
) -> Counts:
    """What the conversations contribute to each summary now (of their threads, those
    at position ``threads_from`` and after)."""
    # Prepared statements on the driver's cursor, like the rest of the write path: this
    # runs twice on every write.
    counter = _Counter()
    for chunk in in_chunks(list(dict.fromkeys(conversation_ids))):
        params = {"project_id": project_id, **in_params("id", chunk)}
        if CONVERSATIONS in parts:
            counter.add_conversations(_conversation_rows(len(chunk)).all(conn, params))
        if FEEDBACK in parts:
            for created, integration, kind in _feedback_rows(len(chunk)).all(conn, params):
                counter.add(feedback_days, (day_of(created), integration or NONE, kind), (1,))
        if THREADS in parts:
            counter.add_threads(
                _thread_rows(len(chunk)).all(conn, {**params, "threads_from": threads_from})
            )
    return counter.counts


def add_inserted(
    conn: Connection,
    project_id: str,
    conversation_rows: Sequence[Mapping[str, Any]],
    thread_rows: Iterable[Mapping[str, Any]],
) -> None:
    """``kept_current(new=True)`` for conversations just inserted as these rows (and
    their threads'), counted from the rows in hand rather than read back: the read cost
    a twelfth of an import's time. A new conversation has no feedback yet (feedback
    needs its message stored), so only its own row and its threads count.

    A user key is the database's JSON text of ``userProperties.id``; where Python
    cannot be sure to spell it the same (anything but a plain ASCII string), those
    conversations' rows are read back after all.
    """
    counter = _Counter()
    unsure: list[str] = []
    known: list[tuple[Any, ...]] = []
    for row in conversation_rows:
        sure, key = _user_key_of(row["user_properties"])
        if sure:
            known.append((row["first_message_time"], row["integration_id"], key))
        else:
            unsure.append(row["id"])
    counter.add_conversations(known)
    for chunk in in_chunks(unsure):
        params = {"project_id": project_id, **in_params("id", chunk)}
        counter.add_conversations(_conversation_rows(len(chunk)).all(conn, params))
    counter.add_threads(map(_THREAD_VALUES, thread_rows))
    add_difference(conn, project_id, {}, counter.counts)


# A thread row's values of _THREAD_COLUMNS, in one C call.
_THREAD_VALUES = itemgetter(*(c.name for c in _THREAD_COLUMNS))


def _user_key_of(user_properties: Any) -> tuple[bool, str | None]:
    """Whether Python can tell the user key ``user_key()`` computes, and that key."""
    if user_properties is None:
        return True, None
    if not isinstance(user_properties, dict):
        return False, None
    value = user_properties.get("id")
    if value is None:  # absent, or JSON null: NULL either way (JsonValue)
        return True, None
    # Such a string is its own JSON text between quotes on both engines; any other
    # value (numbers, escapes, other scripts) is spelt by the engine.
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isprintable()
        and '"' not in value
        and "\\" not in value
    ):
        return True, f'"{value}"'[:USER_KEY_LENGTH]
    return False, None


def _thread_snapshot(conn: Connection, project_id: str, thread_id: str) -> Counts:
    counter = _Counter()
    counter.add_threads(_ONE_THREAD.all(conn, {"project_id": project_id, "thread_id": thread_id}))
    return counter.counts


@contextmanager
def thread_kept_current(conn: Connection, project_id: str, thread_id: str) -> Iterator[None]:
    """``kept_current`` for a write that changes one thread's annotations only."""
    before = _thread_snapshot(conn, project_id, thread_id)
    yield
    add_difference(conn, project_id, before, _thread_snapshot(conn, project_id, thread_id))


@contextmanager
def kept_current(
    conn: Connection,
    project_id: str,
    conversation_ids: Iterable[str],
    *,
    parts: Sequence[str] = EVERYTHING,
    new: bool = False,
    threads_from: int = 0,
) -> Iterator[None]:
    """Add to the summaries what the write inside the block changed about the
    conversations. ``new``: they are not stored yet, so nothing is read before.
    ``threads_from``: the write leaves their threads before that position as they are."""
    ids = list(conversation_ids)
    before: Counts = (
        {} if new else snapshot(conn, project_id, ids, parts, threads_from=threads_from)
    )
    yield
    after = snapshot(conn, project_id, ids, parts, threads_from=threads_from)
    add_difference(conn, project_id, before, after)


def add_difference(conn: Connection, project_id: str, before: Counts, after: Counts) -> None:
    folding: Folded | None = conn.info.get(_FOLDING)
    for table in SUMMARY_TABLES:
        old, new = before.get(table.name, {}), after.get(table.name, {})
        changes: dict[Key, tuple[int, ...]] = {}
        for key in old.keys() | new.keys():
            a, b = old.get(key), new.get(key)
            width = len(a or b or ())
            delta = tuple((b[i] if b else 0) - (a[i] if a else 0) for i in range(width))
            if any(delta):
                changes[key] = delta
        if not changes:
            continue
        if folding is None:
            _write(conn, project_id, table, changes)
        else:
            for key, delta in changes.items():
                folding.add(table, (project_id, *key), delta)


# conn.info's key for the deltas of the write under way, while a batch folds them.
_FOLDING = "convoscope.summaries.folding"


class Folded:
    """Summary deltas added up over writes, applied in one upsert per key.

    The writer commits many writes together, and a day's summary row is the same for
    most of them: adding each write's delta as it comes costs a statement per write and
    per table, and on PostgreSQL every writer in every process queues on that row's lock
    for the rest of its transaction. The writer instead folds each write's deltas here
    and applies their sum just before the commit (``store/writer.py``). Nothing in a
    write reads the summary tables, so deferring their update changes no write's result.
    """

    def __init__(self) -> None:
        self._deltas: dict[str, dict[Key, tuple[int, ...]]] = {t.name: {} for t in SUMMARY_TABLES}

    def add(self, table: Table, key: Key, delta: tuple[int, ...]) -> None:
        _add_to(self._deltas[table.name], key, delta)

    def merge(self, other: Folded) -> None:
        for table in SUMMARY_TABLES:
            for key, delta in other._deltas[table.name].items():
                self.add(table, key, delta)

    def apply(self, conn: Connection) -> None:
        """Write the sums (those that cancelled out not at all) and forget them."""
        for table in SUMMARY_TABLES:
            by_project: dict[str, dict[Key, tuple[int, ...]]] = {}
            for (project_id, *key), delta in self._deltas[table.name].items():
                if any(delta):
                    by_project.setdefault(project_id, {})[tuple(key)] = delta
            for project_id, changes in sorted(by_project.items()):
                _write(conn, project_id, table, changes)
            self._deltas[table.name] = {}


@contextmanager
def folded_into(conn: Connection, into: Folded) -> Iterator[None]:
    """Within the block, ``add_difference`` on ``conn`` adds to ``into`` instead of
    writing. Whoever holds ``into`` applies it before the transaction commits, and drops
    it if the writes inside are rolled back."""
    conn.info[_FOLDING] = into
    try:
        yield
    finally:
        del conn.info[_FOLDING]


def _key_columns(table: Table) -> list[str]:
    return [c.name for c in table.primary_key.columns if c.name != "project_id"]


def _value_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if not c.primary_key]


@cache
def _upsert(table: Table, dialect: str) -> Prepared:
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return Prepared(
        insert.on_conflict_do_update(
            index_elements=[c.name for c in table.primary_key.columns],
            set_={name: table.c[name] + insert.excluded[name] for name in _value_columns(table)},
        )
    )


@cache
def _delete_emptied(table: Table) -> Prepared:
    keys = ["project_id", *_key_columns(table)]
    first = _value_columns(table)[0]
    return Prepared(
        delete(table).where(
            and_(*(table.c[name] == bindparam(f"w_{name}") for name in keys)),
            table.c[first] <= 0,
        )
    )


def _write(
    conn: Connection, project_id: str, table: Table, changes: dict[Key, tuple[int, ...]]
) -> None:
    keys, values = _key_columns(table), _value_columns(table)
    rows = [
        {"project_id": project_id, **dict(zip(keys, key, strict=True)),
         **dict(zip(values, delta, strict=True))}
        for key, delta in sorted(changes.items())
    ]  # fmt: skip
    _upsert(table, conn.dialect.name).executemany(conn, rows)
    # A count that fell may have reached 0: such rows go, so that what is forgotten is
    # gone (a user's key) and the tables hold only days with data.
    emptied = [
        {"w_project_id": project_id, **{f"w_{k}": v for k, v in zip(keys, key, strict=True)}}
        for key, delta in changes.items()
        if delta[0] < 0
    ]
    if emptied:
        _delete_emptied(table).executemany(conn, emptied)


def rebuild(conn: Connection, project_id: str) -> None:
    """Recompute the project's summaries from its rows."""
    for table in SUMMARY_TABLES:
        conn.execute(delete(table).where(table.c.project_id == project_id))
    c, f, t = conversations.c, feedback.c, semantic_threads.c

    def grouped(target: Table, columns: dict[str, ColumnElement[Any]], where: Any) -> None:
        keys = ["project_id", *_key_columns(target)]
        inner = select(*(value.label(name) for name, value in columns.items())).where(*where)
        sub = inner.subquery()
        measures = [
            func.sum(sub.c[name]) if name in sub.c else func.count()
            for name in _value_columns(target)
        ]
        outer = select(*(sub.c[k] for k in keys), *measures).group_by(*(sub.c[k] for k in keys))
        conn.execute(target.insert().from_select([*keys, *_value_columns(target)], outer))

    integration = func.coalesce(c.integration_id, NONE)
    grouped(
        conversation_days,
        {"project_id": c.project_id, "day": DayOf(c.first_message_time),
         "integration_id": integration},
        [c.project_id == project_id],
    )  # fmt: skip
    grouped(
        user_days,
        {"project_id": c.project_id, "day": DayOf(c.first_message_time),
         "integration_id": integration, "user_key": user_key()},
        [c.project_id == project_id, user_key().is_not(None)],
    )  # fmt: skip
    grouped(
        feedback_days,
        {"project_id": f.project_id, "day": DayOf(f.created_at),
         "integration_id": func.coalesce(f.integration_id, NONE), "type": f.type},
        [f.project_id == project_id],
    )  # fmt: skip

    def tri(column: ColumnElement[Any]) -> ColumnElement[int]:
        return case((column.is_(None), literal(UNKNOWN)), (column, literal(1)), else_=literal(0))

    def flag(column: ColumnElement[Any]) -> ColumnElement[int]:
        return cast(case((column, 1), else_=0), Integer)

    grouped(
        thread_days,
        {
            "project_id": t.project_id,
            "day": DayOf(t.first_message_time),
            "integration_id": func.coalesce(t.integration_id, NONE),
            "category": func.coalesce(t.category, NONE),
            "sentiment": func.coalesce(t.sentiment, NONE),
            "documented": tri(t.is_documented),
            "confident": tri(t.is_answer_confident),
            "positive": flag(t.has_positive_feedback),
            "negative": flag(t.has_negative_feedback),
        },
        [t.project_id == project_id],
    )
