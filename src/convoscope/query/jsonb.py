"""Every dialect difference of the query compiler, as ``@compiles`` functions.

The operators have PostgreSQL JSONB semantics. On PostgreSQL they compile to the JSONB
operators themselves (``#>``, ``@>``, ``<@``, ``?``, ``?|``, ``?&``). SQLite has no JSONB,
so the document on the right-hand side, which is known when the query is compiled, is
unfolded into predicates over ``json_type`` / ``json_extract`` / ``json_each`` that give
the same answers: an object contains another when every key of the second is present
with a contained value, an array contains another when every element of the second is
contained in some element of the first, scalars must be equal and of the same JSON type,
and a top-level array contains a scalar it has as an element.

JSON paths are lists of keys. A key made of digits also indexes an array (as ``#>`` does).
On SQLite a key that a JSON path string cannot spell (a quote, a backslash, a control or
non-ASCII character: SQLite compares such keys in their escaped form) is looked up with
``json_each``, which compares decoded keys. Every key and value is a bound parameter.

Nothing outside this module knows which database it talks to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    bindparam,
    cast,
    func,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause
from sqlalchemy.types import NullType, TypeEngine

JsonScalarValue = str | int | float | bool | None

# Keys SQLite's path syntax can carry inside double quotes, compared byte for byte.
_PLAIN_KEY = re.compile(r"^[\x20-\x21\x23-\x5b\x5d-\x7e]*$")
_INDEX_KEY = re.compile(r"^[0-9]+$")
# Largest array index the SQLite path syntax is asked for; larger ones cannot exist.
_MAX_INDEX = 10**9


# The type of the JSON predicates. Not Boolean: SQLAlchemy writes a Boolean in a WHERE
# clause on SQLite as ``(…) = 1``, and SQLite evaluates an AND inside a value expression
# in full, where a bare condition stops at its first false term (measured: +25% on a
# jsonContains count over 1M rows).
PREDICATE = NullType()


class _Json(ColumnElement[Any]):
    # Not cacheable: the documents and paths these carry are compiled into bound
    # parameters when the statement is compiled, so they are not in the cache key.
    inherit_cache = False


class JsonValue(_Json):
    """The JSON value at ``path`` inside a JSON column; SQL NULL when absent or JSON null."""

    inherit_cache = False

    type = Text()

    def __init__(self, column: ColumnElement[Any], path: tuple[str, ...]) -> None:
        self.column = column
        self.path = path


class JsonText(_Json):
    """A JSON expression as its JSON text, for the application to parse."""

    inherit_cache = False

    type = Text()

    def __init__(self, value: ColumnElement[Any]) -> None:
        self.value = value


class JsonScalar(_Json):
    """The value at ``path`` as an SQL value when it is of JSON type ``kind``, else NULL.

    ``kind`` is ``string``, ``number`` or ``boolean``. Comparing typed values keeps
    ``"42"`` and ``42`` apart on both engines, as JSONB does.
    """

    inherit_cache = False

    def __init__(self, column: ColumnElement[Any], path: tuple[str, ...], kind: str) -> None:
        self.column = column
        self.path = path
        self.kind = kind
        types: dict[str, TypeEngine[Any]] = {
            "string": Text(),
            "number": Numeric(asdecimal=False),
            "boolean": Boolean(),
        }
        self.type = types[kind]


class JsonContains(_Json):
    """``column #> path @> document``."""

    inherit_cache = False

    type = PREDICATE

    def __init__(self, column: ColumnElement[Any], path: tuple[str, ...], document: Any) -> None:
        self.column = column
        self.path = path
        self.document = document


class JsonContainedBy(_Json):
    """``column #> path <@ document``."""

    inherit_cache = False

    type = PREDICATE

    def __init__(self, column: ColumnElement[Any], path: tuple[str, ...], document: Any) -> None:
        self.column = column
        self.path = path
        self.document = document


class JsonHasKeys(_Json):
    """``?`` (one key), ``?|`` (``require_all=False``) or ``?&`` (``require_all=True``)."""

    inherit_cache = False

    type = PREDICATE

    def __init__(
        self,
        column: ColumnElement[Any],
        path: tuple[str, ...],
        keys: tuple[str, ...],
        *,
        require_all: bool,
    ) -> None:
        self.column = column
        self.path = path
        self.keys = keys
        self.require_all = require_all


class TimeBucket(_Json):
    """The UTC hour/day/week (Monday)/month a timestamp falls in, in a form that groups and
    sorts in time order; ``BucketText`` turns it into ``2025-03-03T00:00:00.000Z``.

    Two steps so that a grouped query formats each group once, not each row.
    """

    inherit_cache = False
    type = String()

    def __init__(self, column: ColumnElement[Any], unit: str) -> None:
        self.column = column
        self.unit = unit


class BucketText(_Json):
    """A ``TimeBucket`` of ``unit`` as the ISO text of its start."""

    inherit_cache = False
    type = String()

    def __init__(self, value: ColumnElement[Any], unit: str) -> None:
        self.value = value
        self.unit = unit


class IsoTime(_Json):
    """A timestamp as ``2025-03-01T09:30:00.123Z`` (milliseconds truncated, UTC)."""

    inherit_cache = False

    type = String()

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column


# ----------------------------------------------------------------------------- PostgreSQL


def _pg_param(compiler: SQLCompiler, value: Any, type_: TypeEngine[Any], **kw: Any) -> str:
    return compiler.process(bindparam(None, value, type_=type_), **kw)


def _pg_node(
    compiler: SQLCompiler, column: ColumnElement[Any], path: tuple[str, ...], **kw: Any
) -> str:
    col = compiler.process(column, **kw)
    if not path:
        return col
    return f"({col} #> CAST({_pg_param(compiler, list(path), ARRAY(Text()), **kw)} AS TEXT[]))"


def _pg_jsonb(compiler: SQLCompiler, document: Any, **kw: Any) -> str:
    text = orjson.dumps(document).decode()
    return f"CAST({_pg_param(compiler, text, Text(), **kw)} AS JSONB)"


@compiles(JsonValue, "postgresql")
def _value_pg(element: JsonValue, compiler: SQLCompiler, **kw: Any) -> str:
    return f"NULLIF({_pg_node(compiler, element.column, element.path, **kw)}, 'null'::jsonb)"


@compiles(JsonText, "postgresql")
def _text_pg(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.value, **kw)} AS TEXT)"


@compiles(JsonScalar, "postgresql")
def _scalar_pg(element: JsonScalar, compiler: SQLCompiler, **kw: Any) -> str:
    node = _pg_node(compiler, element.column, element.path, **kw)
    if element.kind == "string":
        # CASE, not AND: PostgreSQL does not promise to evaluate a guard first.
        return f"CASE WHEN jsonb_typeof({node}) = 'string' THEN {node} #>> '{{}}' END"
    target = "NUMERIC" if element.kind == "number" else "BOOLEAN"
    return f"CASE WHEN jsonb_typeof({node}) = '{element.kind}' THEN CAST({node} AS {target}) END"


@compiles(JsonContains, "postgresql")
def _contains_pg(element: JsonContains, compiler: SQLCompiler, **kw: Any) -> str:
    node = _pg_node(compiler, element.column, element.path, **kw)
    return f"COALESCE({node} @> {_pg_jsonb(compiler, element.document, **kw)}, false)"


@compiles(JsonContainedBy, "postgresql")
def _contained_pg(element: JsonContainedBy, compiler: SQLCompiler, **kw: Any) -> str:
    node = _pg_node(compiler, element.column, element.path, **kw)
    return f"COALESCE({node} <@ {_pg_jsonb(compiler, element.document, **kw)}, false)"


@compiles(JsonHasKeys, "postgresql")
def _has_keys_pg(element: JsonHasKeys, compiler: SQLCompiler, **kw: Any) -> str:
    node = _pg_node(compiler, element.column, element.path, **kw)
    if len(element.keys) == 1:
        return f"COALESCE({node} ? {_pg_param(compiler, element.keys[0], Text(), **kw)}, false)"
    keys = f"CAST({_pg_param(compiler, list(element.keys), ARRAY(Text()), **kw)} AS TEXT[])"
    operator = "?&" if element.require_all else "?|"
    return f"COALESCE({node} {operator} {keys}, false)"


_PG_TRUNC = {"hour": "hour", "day": "day", "week": "week", "month": "month"}


@compiles(TimeBucket, "postgresql")
def _bucket_pg(element: TimeBucket, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    # date_trunc('week') starts weeks on Monday (ISO), as the API does.
    return f"date_trunc('{_PG_TRUNC[element.unit]}', {col} AT TIME ZONE 'UTC')"


@compiles(BucketText, "postgresql")
def _bucket_text_pg(element: BucketText, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.value, **kw)
    return f'to_char({value}, \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\')'


@compiles(IsoTime, "postgresql")
def _iso_pg(element: IsoTime, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    return f"to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"


# --------------------------------------------------------------------------------- SQLite


class _SqliteWriter:
    """Builds SQLite SQL text for one construct, with bound parameters and unique aliases."""

    def __init__(self, compiler: SQLCompiler, kw: dict[str, Any]) -> None:
        self.compiler = compiler
        self.kw = kw

    def param(self, value: JsonScalarValue) -> str:
        type_: TypeEngine[Any]
        if isinstance(value, bool):
            type_ = Integer()
            value = int(value)
        elif isinstance(value, int):
            type_ = Integer()
        elif isinstance(value, float):
            type_ = Float()
        else:
            type_ = String()
        return self.compiler.process(bindparam(None, value, type_=type_), **self.kw)

    def alias(self) -> str:
        # Counted on the compiler, so names are unique across the whole statement.
        count: int = getattr(self.compiler, "_convoscope_aliases", 0) + 1
        setattr(self.compiler, "_convoscope_aliases", count)  # noqa: B010
        return f"je_{count}"

    def column(self, column: ColumnElement[Any]) -> str:
        return self.compiler.process(column, **self.kw)


@dataclass(frozen=True, slots=True)
class _Node:
    """A JSON value inside a row: ``base`` (SQL giving JSON text) and a path below it.

    A node that is an element of ``json_each`` knows its type and atom directly.
    """

    base: str
    steps: tuple[str, ...] = ()
    each_type: str | None = None
    each_atom: str | None = None

    def path(self, w: _SqliteWriter) -> str:
        return w.param("$" + "".join(self.steps))

    def type(self, w: _SqliteWriter) -> str:
        if self.each_type is not None:
            return self.each_type
        if self.steps:
            return f"json_type({self.base}, {self.path(w)})"
        return f"json_type({self.base})"

    def atom(self, w: _SqliteWriter) -> str:
        if self.each_atom is not None:
            return self.each_atom
        if self.steps:
            return f"json_extract({self.base}, {self.path(w)})"
        return f"json_extract({self.base}, '$')"

    def text(self, w: _SqliteWriter) -> str:
        if self.each_type is not None:
            # The member's own JSON text: containers as they are, scalars re-quoted.
            return (
                f"CASE WHEN {self.each_type} IN ('true', 'false') THEN {self.each_type} "
                f"WHEN {self.each_type} IN ('object', 'array') THEN {self.base} "
                f"ELSE json_quote({self.each_atom}) END"
            )
        if self.steps:
            return f"({self.base} -> {self.path(w)})"
        return self.base

    def each(self, w: _SqliteWriter) -> str:
        if self.steps:
            return f"json_each({self.base}, {self.path(w)})"
        return f"json_each({self.base})"


def _member(alias: str) -> _Node:
    """The node of one row of ``json_each``; its base is only JSON text for containers."""
    return _Node(
        base=f"CASE WHEN {alias}.type IN ('object', 'array') THEN {alias}.value END",
        each_type=f"{alias}.type",
        each_atom=f"{alias}.atom",
    )


def _child(w: _SqliteWriter, node: _Node, key: str) -> _Node:
    if _PLAIN_KEY.match(key) and not _INDEX_KEY.match(key):
        return _Node(node.base, (*node.steps, f'."{key}"'))
    if _INDEX_KEY.match(key):
        by_key = _Node(node.base, (*node.steps, f'."{key}"')).text(w)
        if int(key) > _MAX_INDEX:
            return _Node(by_key)
        by_index = _Node(node.base, (*node.steps, f"[{int(key)}]")).text(w)
        return _Node(f"COALESCE({by_index}, {by_key})")
    a = w.alias()
    member = _member(a)
    return _Node(
        f"(SELECT {member.text(w)} FROM {node.each(w)} AS {a} "
        f"WHERE {node.type(w)} IS 'object' AND {a}.key IS {w.param(key)} LIMIT 1)"
    )


def _node(w: _SqliteWriter, column: ColumnElement[Any], path: tuple[str, ...]) -> _Node:
    node = _Node(w.column(column))
    for key in path:
        node = _child(w, node, key)
    return node


def _scalar_equals(w: _SqliteWriter, node: _Node, value: JsonScalarValue) -> str:
    if value is None:
        return f"{node.type(w)} IS 'null'"
    if isinstance(value, bool):
        return f"{node.type(w)} IS '{'true' if value else 'false'}'"
    # The value test first: SQLite stops at the first false term of an AND, so rows that
    # do not match (most of them) cost one JSON lookup, not two.
    if isinstance(value, int | float):
        return f"({node.atom(w)} = {w.param(value)} AND {node.type(w)} IN ('integer', 'real'))"
    return f"({node.atom(w)} = {w.param(value)} AND {node.type(w)} IS 'text')"


def _all(parts: list[str]) -> str:
    return "(" + " AND ".join(parts) + ")" if parts else "1"


def _any(parts: list[str]) -> str:
    return "(" + " OR ".join(parts) + ")" if parts else "0"


def _contains(w: _SqliteWriter, node: _Node, document: Any, *, top: bool) -> str:
    if isinstance(document, dict):
        parts = [
            _contains(w, _child(w, node, key), value, top=False) for key, value in document.items()
        ]
        # A member found by a plain key proves the node is an object; otherwise say so.
        if not any(_PLAIN_KEY.match(k) and not _INDEX_KEY.match(k) for k in document):
            parts.insert(0, f"{node.type(w)} IS 'object'")
        return _all(parts)
    if isinstance(document, list):
        parts = [f"{node.type(w)} IS 'array'"]
        for item in document:
            a = w.alias()
            parts.append(
                f"EXISTS (SELECT 1 FROM {node.each(w)} AS {a} "
                f"WHERE {_contains(w, _member(a), item, top=False)})"
            )
        return _all(parts)
    if top:
        # JSONB: a top-level array contains a scalar it holds as an element.
        a = w.alias()
        in_array = (
            f"({node.type(w)} IS 'array' AND EXISTS (SELECT 1 FROM {node.each(w)} AS {a} "
            f"WHERE {_scalar_equals(w, _member(a), document)}))"
        )
        return _any([_scalar_equals(w, node, document), in_array])
    return _scalar_equals(w, node, document)


def _contained_by(w: _SqliteWriter, node: _Node, document: Any, *, top: bool) -> str:
    if isinstance(document, dict):
        a = w.alias()
        member = _member(a)
        branches = " ".join(
            f"WHEN {w.param(key)} THEN {_contained_by(w, member, value, top=False)}"
            for key, value in document.items()
        )
        fits = f"CASE {a}.key {branches} ELSE 0 END" if document else "0"
        return _all(
            [
                f"{node.type(w)} IS 'object'",
                f"NOT EXISTS (SELECT 1 FROM {node.each(w)} AS {a} WHERE NOT ({fits}))",
            ]
        )
    if isinstance(document, list):
        a = w.alias()
        member = _member(a)
        fits = _any([_contained_by(w, member, item, top=False) for item in document])
        is_array = _all(
            [
                f"{node.type(w)} IS 'array'",
                f"NOT EXISTS (SELECT 1 FROM {node.each(w)} AS {a} WHERE NOT {fits})",
            ]
        )
        if not top:
            return is_array
        # JSONB: a top-level scalar is contained by an array that holds it.
        scalars = [item for item in document if not isinstance(item, dict | list)]
        return _any([is_array, *(_scalar_equals(w, node, item) for item in scalars)])
    return _scalar_equals(w, node, document)


def _has_key(w: _SqliteWriter, node: _Node, key: str) -> str:
    a = w.alias()
    return (
        f"(CASE {node.type(w)} "
        f"WHEN 'object' THEN {_child(w, node, key).type(w)} IS NOT NULL "
        f"WHEN 'array' THEN EXISTS (SELECT 1 FROM {node.each(w)} AS {a} "
        f"WHERE {a}.type IS 'text' AND {a}.atom IS {w.param(key)}) "
        f"WHEN 'text' THEN {node.atom(w)} IS {w.param(key)} "
        "ELSE 0 END)"
    )


@compiles(JsonValue, "sqlite")
def _value_sqlite(element: JsonValue, compiler: SQLCompiler, **kw: Any) -> str:
    w = _SqliteWriter(compiler, kw)
    node = _node(w, element.column, element.path)
    return f"NULLIF({node.text(w)}, 'null')"


@compiles(JsonText, "sqlite")
def _text_sqlite(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.value, **kw)


@compiles(JsonScalar, "sqlite")
def _scalar_sqlite(element: JsonScalar, compiler: SQLCompiler, **kw: Any) -> str:
    w = _SqliteWriter(compiler, kw)
    node = _node(w, element.column, element.path)
    types = {
        "string": "'text'",
        "number": "'integer', 'real'",
        "boolean": "'true', 'false'",
    }[element.kind]
    return f"CASE WHEN {node.type(w)} IN ({types}) THEN {node.atom(w)} END"


@compiles(JsonContains, "sqlite")
def _contains_sqlite(element: JsonContains, compiler: SQLCompiler, **kw: Any) -> str:
    w = _SqliteWriter(compiler, kw)
    return _contains(w, _node(w, element.column, element.path), element.document, top=True)


@compiles(JsonContainedBy, "sqlite")
def _contained_sqlite(element: JsonContainedBy, compiler: SQLCompiler, **kw: Any) -> str:
    w = _SqliteWriter(compiler, kw)
    node = _node(w, element.column, element.path)
    return _contained_by(w, node, element.document, top=True)


@compiles(JsonHasKeys, "sqlite")
def _has_keys_sqlite(element: JsonHasKeys, compiler: SQLCompiler, **kw: Any) -> str:
    w = _SqliteWriter(compiler, kw)
    node = _node(w, element.column, element.path)
    parts = [_has_key(w, node, key) for key in element.keys]
    return _all(parts) if element.require_all else _any(parts)


@compiles(TimeBucket, "sqlite")
def _bucket_sqlite(element: TimeBucket, compiler: SQLCompiler, **kw: Any) -> str:
    # Timestamps are stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC). Cutting the text is
    # exact; strftime() would round to milliseconds and could move 23:59:59.9996 into
    # the next day. The cut text sorts in time order; BucketText completes it.
    col = compiler.process(element.column, **kw)
    if element.unit == "hour":
        return f"substr({col}, 1, 13)"
    if element.unit == "day":
        return f"substr({col}, 1, 10)"
    if element.unit == "month":
        return f"substr({col}, 1, 7)"
    # 'weekday 0' moves to the next Sunday (or stays on one); six days back is Monday.
    return f"date(substr({col}, 1, 10), 'weekday 0', '-6 days')"


_SQLITE_BUCKET_TAIL = {
    "hour": ":00:00.000Z",
    "day": "T00:00:00.000Z",
    "week": "T00:00:00.000Z",
    "month": "-01T00:00:00.000Z",
}


@compiles(BucketText, "sqlite")
def _bucket_text_sqlite(element: BucketText, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.value, **kw)
    if element.unit == "hour":  # 'YYYY-MM-DD HH' -> 'YYYY-MM-DDTHH:00:00.000Z'
        return f"(substr({value}, 1, 10) || 'T' || substr({value}, 12, 2) || ':00:00.000Z')"
    return f"({value} || '{_SQLITE_BUCKET_TAIL[element.unit]}')"


@compiles(IsoTime, "sqlite")
def _iso_sqlite(element: IsoTime, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    return f"(substr({col}, 1, 10) || 'T' || substr({col}, 12, 12) || 'Z')"


def object_keys(
    dialect: str,
    source: FromClause,
    column: ColumnElement[Any],
    condition: ColumnElement[bool],
    *,
    from_text: bool = False,
) -> Select[Any]:
    """The distinct top-level keys of a JSON-object column over the rows of ``source``
    matching ``condition``: ``jsonb_object_keys`` on PostgreSQL, ``json_each`` on SQLite.
    ``from_text``: the column holds JSON text (a selected ``JsonText``), not JSONB."""
    if dialect == "postgresql":
        document = cast(column, JSONB) if from_text else column
        keys = func.jsonb_object_keys(document).label("key")
        return select(keys).where(condition, func.jsonb_typeof(document) == "object").distinct()
    each = func.json_each(column).table_valued("key").alias("je_keys")
    return (
        select(each.c.key)
        # ON true: json_each is a table-valued function of the row (a lateral join).
        .select_from(source.join(each, true()))
        .where(condition, func.json_type(column) == "object")
        .distinct()
    )
