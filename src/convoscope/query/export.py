"""CSV exports of every row a query matches (API.md §2.15–2.18, §4.9), in bounded memory.

Rows stream from a server-side cursor (PostgreSQL) or a stepping statement (SQLite) in
chunks, and each chunk is written out before the next is read. A JSON object column in
``unpack`` mode (the default) becomes one column per key found in any exported row, so
the keys are collected in a first pass that reads only those columns; ``json`` mode
writes the compact JSON text in one column. Arrays of objects (feedback ``reasons`` and
``sources``) unpack to indexed columns (``reasons.0.label``).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select, true

from convoscope.errors import QueryTimeout
from convoscope.query.compile import CompiledQuery
from convoscope.query.execute import clear_limit, is_timeout, set_limit
from convoscope.query.fields import Kind
from convoscope.query.model import Query
from convoscope.query.rows import OMIT
from convoscope.sql import object_keys

CHUNK_ROWS = 2000
_UNPACKED_KINDS = (Kind.OBJECT, Kind.OBJECT_ARRAY)


def unpacked_keys(query: Query) -> dict[str, Kind]:
    """The output keys written one column per JSON key rather than as JSON text, with the
    kind of their field."""
    return {
        s.key: s.field.kind
        for s in query.field_selections()
        if not s.path and not s.as_json and s.field.kind in _UNPACKED_KINDS
    }


def cell(value: Any) -> str:
    """One CSV cell: null empty, booleans lower case, JSON as compact text."""
    if value is None or value is OMIT:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def flatten(value: Any) -> dict[str, Any]:
    """Top-level keys of an object; ``index.key`` for an array of objects."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for i, item in enumerate(value):
            if isinstance(item, dict):
                for key, inner in item.items():
                    out[f"{i}.{key}"] = inner
            else:
                out[str(i)] = item
        return out
    return {}


def _sort_key(key: str) -> tuple[int, str]:
    head, _, tail = key.partition(".")
    return (int(head), tail) if head.isdigit() else (-1, key)


@dataclass(slots=True)
class _Deadline:
    """A time limit renewed for every chunk: a long export is fine, a stuck read is not."""

    seconds: float
    at: float = 0.0

    def renew(self) -> None:
        self.at = time.monotonic() + self.seconds

    def passed(self) -> int:
        return 1 if time.monotonic() > self.at else 0


class CsvExport:
    """An export prepared up to its first chunk, so errors surface before the 200."""

    def __init__(
        self,
        engine: Engine,
        compile: Callable[[Connection], CompiledQuery],
        unpack: dict[str, Kind],
        seconds: float,
    ) -> None:
        self._engine = engine
        # Compiled on the export's connection: the SQL depends on the path indexes there.
        self._compile = compile
        self._compiled: CompiledQuery | None = None
        self._kinds = unpack
        self._plan: list[tuple[Any, ...]] = []
        self._deadline = _Deadline(seconds)
        self._conn: Connection | None = None
        self._first: list[Any] = []
        self._result: Any = None
        self._columns: dict[str, list[str]] = {}

    def prepare(self) -> None:
        """Collect the JSON keys and run the query; raise before anything is sent."""
        conn = self._engine.connect()
        self._conn = conn
        try:
            self._compiled = self._compile(conn)
            self._limit(conn)
            self._deadline.renew()
            self._columns = self._discover(conn)
            self._plan = self._segments()
            self._deadline.renew()
            stream = conn.execution_options(stream_results=True, max_row_buffer=CHUNK_ROWS)
            self._result = stream.execute(self.compiled.statement)
            self._first = self._result.fetchmany(CHUNK_ROWS)
        except BaseException as err:
            self.close()
            if is_timeout(err):
                raise QueryTimeout(self._deadline.seconds) from None
            raise

    @property
    def compiled(self) -> CompiledQuery:
        if self._compiled is None:
            raise RuntimeError("the export is not prepared")
        return self._compiled

    def _limit(self, conn: Connection) -> None:
        # On PostgreSQL per statement, and a server-side cursor FETCHes chunk by chunk.
        set_limit(conn, self._deadline.seconds, self._deadline.passed)

    def _discover(self, conn: Connection) -> dict[str, list[str]]:
        """The column names of each unpacked JSON column, over every exported row.

        Object keys are collected by the database (``json_each`` / ``jsonb_object_keys``
        in C, over the query as a subquery); arrays of objects, which need index and key,
        by reading the column.
        """
        if not self._kinds:
            return {}
        inner = self.compiled.statement.order_by(None).subquery("export")
        labels = {
            key: f"c{i}"
            for i, (key, _shaper) in enumerate(self.compiled.shapers)
            if key in self._kinds
        }
        shapers = dict(self.compiled.shapers)
        found: dict[str, set[str]] = {}
        by_reading: dict[str, str] = {}
        for key, label in labels.items():
            if self._kinds[key] is Kind.OBJECT:
                statement = object_keys(
                    conn.dialect.name, inner, inner.c[label], true(), from_text=True
                )
                found[key] = {str(name) for name in conn.execute(statement).scalars()}
            else:
                by_reading[key] = label
                found[key] = set()
        if by_reading:
            result = conn.execution_options(stream_results=True, max_row_buffer=CHUNK_ROWS)
            rows_of = result.execute(select(*(inner.c[label] for label in by_reading.values())))
            keys = list(by_reading)
            for rows in rows_of.partitions(CHUNK_ROWS):
                self._deadline.renew()
                for row in rows:
                    for key, value in zip(keys, row, strict=True):
                        shaped = shapers[key](value)
                        if shaped is not None and shaped is not OMIT:
                            found[key].update(flatten(shaped))
        return {key: sorted(names, key=_sort_key) for key, names in found.items()}

    def header(self) -> list[str]:
        out: list[str] = []
        for key, _shaper in self.compiled.shapers:
            if key in self._columns:
                out += [f"{key}.{name}" for name in self._columns[key]]
            else:
                out.append(key)
        return out

    def _segments(self) -> list[tuple[Any, ...]]:
        """How to turn a row into cells: runs of plain columns are copied as a slice,
        others shaped one by one, unpacked columns spread over their key columns."""
        plan: list[tuple[Any, ...]] = []
        plain = self.compiled.plain
        for i, (key, shaper) in enumerate(self.compiled.shapers):
            names = self._columns.get(key)
            if names is not None:
                plan.append(("unpack", i, shaper, tuple(names)))
            elif i < len(plain) and plain[i]:
                if plan and plan[-1][0] == "slice" and plan[-1][2] == i:
                    plan[-1] = ("slice", plan[-1][1], i + 1)
                else:
                    plan.append(("slice", i, i + 1))
            else:
                plan.append(("cell", i, shaper))
        return plan

    def _cells(self, row: Any) -> list[Any]:
        out: list[Any] = []
        for step in self._plan:
            if step[0] == "slice":
                out += row[step[1] : step[2]]
            elif step[0] == "cell":
                out.append(cell(step[2](row[step[1]])))
            else:
                shaped = step[2](row[step[1]])
                if not isinstance(shaped, dict):
                    shaped = flatten(shaped)
                out += [cell(shaped.get(name)) for name in step[3]]
        return out

    def __iter__(self) -> Iterator[bytes]:
        try:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(self.header())
            rows = self._first
            while rows:
                writer.writerows(self._cells(row) for row in rows)
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
                self._deadline.renew()
                rows = self._result.fetchmany(CHUNK_ROWS)
            if buffer.tell():
                yield buffer.getvalue().encode()
        finally:
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            clear_limit(conn)
            conn.close()
