"""Core statements compiled once per dialect and run on the driver's own cursor.

The write path runs a handful of short statements per request. Through
``Connection.execute`` each costs about 70 µs of SQLAlchemy bookkeeping (cache key,
execution context, parameter processing, result wrapping) against 5–10 µs in sqlite3
itself, and it all ran on the single writer thread (server CPU per logged conversation
went from 0.84 to 0.73 ms without it, bench/ingest.py). A ``Prepared`` statement keeps
SQLAlchemy's compiler and its type conversions (the same bind and result processors, so
the stored bytes are identical) but does that work once, then hands plain SQL and plain
values to the driver inside the caller's transaction. On PostgreSQL, ``executemany``
and the statements of a ``pipelined`` block travel together: one round trip.

Only statements whose parameters are all supplied by the caller qualify: a column with a
Python-side default would need SQLAlchemy's execution context, and is refused at compile
time. Expanding ``IN`` lists are not supported; ``in_list`` builds one parameter per
value instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, ColumnElement, Connection, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    # The parameters' names, in the order the SQL expects them.
    names: tuple[str, ...]
    # Those that need converting, by position, with their conversion.
    conversions: tuple[tuple[int, Processor], ...]
    # sqlite3 takes a sequence (qmark style), psycopg a mapping (%(name)s style).
    positional: bool
    # The result columns that need converting, by index, with their conversion.
    results: tuple[tuple[int, Processor], ...]
    # Values written into the statement itself, e.g. ``.values(status="pending")``.
    fixed: dict[str, Any]
    # The driver's parameters for a mapping of values: generated source that takes
    # each value and converts those that need it in one expression (an import converts
    # 700,000 rows of parameters per 100,000 conversations; a loop over the names cost
    # 3.6 µs a row, an itemgetter and a loop over the conversions 1.3 µs a message row,
    # this 1.0).
    convert: Callable[[Mapping[str, Any]], Sequence[Any] | dict[str, Any]]

    def params(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        if self.fixed:
            values = {**self.fixed, **values}
        return self.convert(values)

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        if not self.results:
            return [tuple(row) for row in raw]
        # Only the columns that need it, in place: a re-log reads a row for every
        # stored message, and a generator over every column cost 1.5 µs a row.
        converted = []
        for row in raw:
            values = list(row)
            for index, process in self.results:
                values[index] = process(values[index])
            converted.append(tuple(values))
        return converted


class Prepared:
    """One statement, compiled on first use for each dialect (and set of insert columns)."""

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...] | None], _Compiled] = {}
        # PostgreSQL's COPY of an insert, per set of columns (``insert_many``).
        self._copies: dict[tuple[str, ...], tuple[str, Callable[[Mapping[str, Any]], Any]]] = {}
        # ``insert_rows``' statement head, row placeholders and conversion, per single-row
        # SQL; None where the statement is not a plain INSERT of placeholders.
        self._multirow: dict[str, _MultiRow | None] = {}
        # Its statements, per single-row SQL and number of rows.
        self._multirow_sql: dict[tuple[str, int], str] = {}

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run once; return the number of rows changed (unknown, -1, inside ``pipelined``)."""
        compiled = self._compile(conn.dialect, params)
        with _cursor(conn, compiled.sql) as cursor:
            cursor.execute(compiled.sql, compiled.params(params))
            return int(cursor.rowcount)

    def executemany(
        self,
        conn: Connection,
        rows: Sequence[Mapping[str, Any]],
        *,
        columns: tuple[str, ...] | None = None,
    ) -> None:
        """Run once per row (rows share their keys), in one driver call.

        ``columns``: an insert's or update's columns, when the rows hold other keys too
        (those are left out of the statement)."""
        if not rows:
            return
        compiled = self._compile(conn.dialect, rows[0], columns)
        with _cursor(conn, compiled.sql) as cursor:
            cursor.executemany(compiled.sql, [compiled.params(row) for row in rows])

    def insert_rows(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """``executemany`` of a plain INSERT's rows; on PostgreSQL one multi-row INSERT.

        For a few rows inside a request's transaction (a conversation's messages, its
        threads). Inside ``pipelined`` psycopg sends and polls for every statement of an
        executemany, and that was the largest part of the server's CPU per statement;
        one statement of ``_ROWS_PER_INSERT`` rows at most is sent once. The same rows, the same
        conversions, as atomic; a clash on a key fails it as it fails the executemany.
        """
        if not rows:
            return
        if conn.dialect.name != "postgresql" or len(rows) == 1:
            self.executemany(conn, rows)
            return
        compiled = self._compile(conn.dialect, rows[0])
        if compiled.sql not in self._multirow:
            self._multirow[compiled.sql] = _multirow(compiled)
        multirow = self._multirow[compiled.sql]
        if multirow is None:
            self.executemany(conn, rows)
            return
        head, values, convert = multirow
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            sql = self._multirow_sql.get((compiled.sql, len(chunk)))
            if sql is None:
                width = len(compiled.names)
                sql = head + ", ".join(
                    values.format(*(f"${i * width + j + 1}" for j in range(width)))
                    for i in range(len(chunk))
                )
                self._multirow_sql[(compiled.sql, len(chunk))] = sql
            params = [value for row in chunk for value in convert(row)]
            with _cursor(conn, sql, raw=True) as cursor:
                cursor.execute(sql, params)

    def insert_many(
        self, conn: Connection, rows: Sequence[Mapping[str, Any]], *, columns: tuple[str, ...]
    ) -> None:
        """``executemany`` of a plain INSERT's rows; on PostgreSQL one ``COPY`` instead.

        COPY hands PostgreSQL the rows as one stream, where executemany runs the
        statement once per row; it is as atomic, inside the caller's transaction, and a
        clash on a key fails it as it would fail the insert (an IntegrityError).
        """
        if not rows:
            return
        if conn.dialect.name != "postgresql":
            self.executemany(conn, rows, columns=columns)
            return
        sql, convert = self._copy(conn.dialect, rows[0], columns)
        with _cursor(conn, sql) as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(convert(row))

    def _copy(
        self, dialect: Dialect, row: Mapping[str, Any], columns: tuple[str, ...]
    ) -> tuple[str, Callable[[Mapping[str, Any]], Any]]:
        """The COPY statement for ``columns`` and the conversion of a row for it."""
        found = self._copies.get(columns)
        if found is None:
            compiled = self._compile(dialect, row, columns)
            table = getattr(self._statement, "table", None)
            # Only a plain INSERT: its parameters are its columns, and nothing is fixed.
            if table is None or compiled.fixed or set(compiled.names) != set(columns):
                raise TypeError(f"not a plain INSERT of {columns}: {self._statement}")
            quote = dialect.identifier_preparer
            sql = (
                f"COPY {quote.format_table(table)} "
                f"({', '.join(quote.quote(name) for name in compiled.names)}) FROM STDIN"
            )
            conversions = dict(compiled.conversions)
            found = sql, _converter(compiled.names, conversions, positional=True)
            self._copies[columns] = found
        return found

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row the statement returns (SELECT, or RETURNING), converted."""
        compiled = self._compile(conn.dialect, params)
        with _cursor(conn, compiled.sql) as cursor:
            cursor.execute(compiled.sql, compiled.params(params))
            return compiled.rows(cursor.fetchall())

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        rows = self.all(conn, params)
        return rows[0] if rows else None

    def _compile(
        self,
        dialect: Dialect,
        params: Mapping[str, Any],
        columns: tuple[str, ...] | None = None,
    ) -> _Compiled:
        # Inserts and updates render only the columns given: their keys are part of the key.
        if not _sets_columns(self._statement):
            columns = None
        elif columns is None:
            columns = tuple(params)
        key = (dialect.name, columns)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = _compile(self._statement, dialect, columns)
        return found


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """Send the block's statements to PostgreSQL without waiting for each answer.

    They travel together and are answered at the block's end (or when a result is read),
    so a run of writes costs one round trip; an error surfaces by the end of the block.
    Nothing changes on SQLite, which has no round trips.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    # A queued statement's failure is reported at the sync, perhaps on leaving the block.
    with (
        _as_sqlalchemy_errors(conn, None),
        conn.connection.driver_connection.pipeline(),  # type: ignore[union-attr]
    ):
        yield


def in_chunks(ids: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    """Slices of ``ids`` short enough for an IN list on both engines."""
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def in_list(column: ColumnElement[Any], name: str, count: int) -> ColumnElement[bool]:
    """``column IN (:name_0, …, :name_{count-1})``, for a ``Prepared`` statement."""
    return column.in_([bindparam(f"{name}_{i}") for i in range(count)])


def in_params(name: str, values: Iterable[Any]) -> dict[str, Any]:
    """The parameters ``in_list(…, name, len(values))`` expects."""
    return {f"{name}_{i}": value for i, value in enumerate(values)}


def _compile(
    statement: ClauseElement, dialect: Dialect, columns: tuple[str, ...] | None
) -> _Compiled:
    compiled = statement.compile(
        dialect=dialect, column_keys=list(columns) if columns is not None else None
    )
    assert isinstance(compiled, SQLCompiler)
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise TypeError(f"a Python-side column default needs Connection.execute: {statement}")
    processors: dict[str, Processor | None] = {}
    fixed: dict[str, Any] = {}
    for bind, name in compiled.bind_names.items():
        if not bind.required:
            fixed[name] = bind.effective_value
        # The processors take None themselves (JSON's none_as_null among them).
        processors[name] = _bind_processor(bind.type.dialect_impl(dialect), dialect)
    names = tuple((compiled.positiontup or ()) if compiled.positional else processors)
    results: list[tuple[int, Processor]] = []
    for index, column in enumerate(getattr(statement, "exported_columns", ())):
        impl = column.type.dialect_impl(dialect)
        process = impl.result_processor(dialect, None)
        if process is not None:
            results.append((index, process))
    conversions = tuple(
        (index, process)
        for index, name in enumerate(names)
        if (process := processors[name]) is not None
    )
    return _Compiled(
        sql=compiled.string,
        names=names,
        conversions=conversions,
        positional=compiled.positional,
        results=tuple(results),
        fixed=fixed,
        convert=_converter(names, dict(conversions), positional=compiled.positional),
    )


def _converter(
    names: tuple[str, ...], conversions: dict[int, Processor], *, positional: bool
) -> Callable[[Mapping[str, Any]], Sequence[Any] | dict[str, Any]]:
    """``lambda values: (values["a"], convert_1(values["b"]), …)``, or the same as a
    dict for a driver that takes named parameters; generated as ``store/mapping.py``
    generates its row functions. The names are pasted in as string literals (repr), the
    conversions passed by name, so no name can break the source."""
    namespace: dict[str, Any] = {f"_convert_{i}": process for i, process in conversions.items()}
    taken = [
        f"_convert_{i}(values[{name!r}])" if i in conversions else f"values[{name!r}]"
        for i, name in enumerate(names)
    ]
    if positional:
        body = "(" + "".join(f"{value}, " for value in taken) + ")"
    else:
        pairs = zip(names, taken, strict=True)
        body = "{" + ", ".join(f"{name!r}: {value}" for name, value in pairs) + "}"
    exec(f"def convert(values):\n    return {body}\n", namespace)
    function: Callable[[Mapping[str, Any]], Sequence[Any] | dict[str, Any]] = namespace["convert"]
    return function


def _bind_processor(impl: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    """``impl``'s conversion of a parameter; for JSON on SQLite, the serializer itself.

    SQLAlchemy's JSON processor checks for its NULL markers before serialising, which
    cost as much as orjson's work on the dozen JSON values of a logged conversation.
    The markers are still handed to it; None is NULL, as ``none_as_null`` has it.
    """
    process = impl.bind_processor(dialect)
    serializer = getattr(dialect, "_json_serializer", None)
    if (
        process is None
        or serializer is None
        or dialect.name != "sqlite"
        or not isinstance(impl, JSON)
        or not impl.none_as_null
    ):
        return process
    general = process

    def serialise(value: Any) -> Any:
        if value is None:
            return None
        if type(value) in _JSON_VALUES:
            return serializer(value)
        return general(value)

    return serialise


_JSON_VALUES = frozenset({dict, list, str, int, float, bool})


_MultiRow = tuple[str, str, Callable[[Mapping[str, Any]], Any]]

# Rows per statement of ``insert_rows``: far below PostgreSQL's 65,535 parameters.
_ROWS_PER_INSERT = 100

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _multirow(compiled: _Compiled) -> _MultiRow | None:
    """``INSERT INTO t (…) VALUES `` and one row's ``({}::TYPE, …)`` (its placeholders
    to be numbered, ``$1``…, as PostgreSQL's own: psycopg then parses nothing, where it
    parsed a ``%s`` statement of more than 50 parameters anew at every run), with the
    conversion of a row to its positional values; None unless the statement is that."""
    head, found, values = compiled.sql.partition(" VALUES ")
    if (
        not found
        or compiled.fixed
        or compiled.positional
        or not head.startswith("INSERT INTO ")
        or not (values.startswith("(") and values.endswith(")"))
        or "%%" in values
        or "{" in values
        or "}" in values
        or tuple(_PLACEHOLDER.findall(values)) != compiled.names
    ):
        return None
    convert = _converter(compiled.names, dict(compiled.conversions), positional=True)
    return head + found, _PLACEHOLDER.sub("{}", values), convert


def _sets_columns(statement: ClauseElement) -> bool:
    """INSERT and UPDATE render the columns given, as ``Connection.execute`` would."""
    return getattr(statement, "is_insert", False) or getattr(statement, "is_update", False)


@contextmanager
def _cursor(conn: Connection, sql: str, *, raw: bool = False) -> Iterator[Any]:
    """A driver cursor whose errors arrive as SQLAlchemy's, as from ``Connection.execute``.

    ``raw``: psycopg's cursor for statements with PostgreSQL's ``$1`` placeholders."""
    driver = conn.connection.driver_connection
    if raw:
        from psycopg import RawCursor  # only on PostgreSQL: SQLite needs no psycopg

        cursor: Any = RawCursor(driver)  # type: ignore[arg-type]
    else:
        cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        with _as_sqlalchemy_errors(conn, sql):
            yield cursor
    finally:
        cursor.close()


@contextmanager
def _as_sqlalchemy_errors(conn: Connection, sql: str | None) -> Iterator[None]:
    error: type[Exception] = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except error as err:
        raise DBAPIError.instance(sql, None, err, error) from err
