"""The JSON constructs on SQLite, which has no JSONB.

The document on the right-hand side of a containment, known when the query is compiled,
is unfolded into predicates over ``json_type`` / ``json_extract`` / ``json_each`` that
give JSONB's answers: an object contains another when every key of the second is present
with a contained value, an array contains another when every element of the second is
contained in some element of the first, scalars must be equal and of the same JSON type,
and a top-level array contains a scalar it has as an element.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from convoscope.sql.constructs import (
    CodePointOrder,
    IndexedJsonValue,
    JsonContainedBy,
    JsonContains,
    JsonHasKeys,
    JsonIsContainer,
    JsonScalar,
    JsonString,
    JsonText,
    JsonValue,
    array_index,
)
from convoscope.sql.sqlite_paths import (
    PLAIN_KEY,
    JsonScalarValue,
    Node,
    SqliteWriter,
    child,
    member,
    node_at,
)


def _scalar_equals(w: SqliteWriter, node: Node, value: JsonScalarValue) -> str:
    if value is None:
        return f"{node.type(w)} IS 'null'"
    if isinstance(value, bool):
        return f"{node.type(w)} IS '{'true' if value else 'false'}'"
    # The value test first: SQLite stops at the first false term of an AND, so rows that
    # do not match (most of them) cost one JSON lookup, not two.
    if isinstance(value, int | float):
        return f"({node.atom(w)} = {w.param(value)} AND {node.type(w)} IN ('integer', 'real'))"
    if not value.startswith(("{", "[")):
        # json_extract gives numbers and booleans as SQL numbers, which never equal text,
        # and objects and arrays as their JSON text, which starts with { or [: equal text
        # proves a JSON string, and the type test would cost a second lookup per match.
        return f"{node.atom(w)} = {w.param(value)}"
    return f"({node.atom(w)} = {w.param(value)} AND {node.type(w)} IS 'text')"


def _all(parts: list[str]) -> str:
    return "(" + " AND ".join(parts) + ")" if parts else "1"


def _any(parts: list[str]) -> str:
    return "(" + " OR ".join(parts) + ")" if parts else "0"


def _contains(w: SqliteWriter, node: Node, document: Any, *, top: bool) -> str:
    if isinstance(document, dict):
        parts = [
            _contains(w, child(w, node, key), value, top=False) for key, value in document.items()
        ]
        # A member found by a plain key proves the node is an object; otherwise say so.
        if not any(PLAIN_KEY.match(k) and array_index(k) is None for k in document):
            parts.insert(0, node.is_kind(w, "object"))
        return _all(parts)
    if isinstance(document, list):
        parts = [node.is_kind(w, "array")]
        for item in document:
            a = w.alias()
            parts.append(
                f"EXISTS (SELECT 1 FROM {node.each(w)} AS {a} "
                f"WHERE {_contains(w, member(a), item, top=False)})"
            )
        return _all(parts)
    if top:
        # JSONB: a top-level array contains a scalar it holds as an element.
        a = w.alias()
        in_array = (
            f"({node.is_kind(w, 'array')} AND EXISTS (SELECT 1 FROM {node.each(w)} AS {a} "
            f"WHERE {_scalar_equals(w, member(a), document)}))"
        )
        return _any([_scalar_equals(w, node, document), in_array])
    return _scalar_equals(w, node, document)


def _contained_by(w: SqliteWriter, node: Node, document: Any, *, top: bool) -> str:
    if isinstance(document, dict):
        a = w.alias()
        element = member(a)
        branches = " ".join(
            f"WHEN {w.param(key)} THEN {_contained_by(w, element, value, top=False)}"
            for key, value in document.items()
        )
        fits = f"CASE {a}.key {branches} ELSE 0 END" if document else "0"
        return _all(
            [
                node.is_kind(w, "object"),
                f"NOT EXISTS (SELECT 1 FROM {node.each(w)} AS {a} WHERE NOT ({fits}))",
            ]
        )
    if isinstance(document, list):
        a = w.alias()
        element = member(a)
        fits = _any([_contained_by(w, element, item, top=False) for item in document])
        is_array = _all(
            [
                node.is_kind(w, "array"),
                f"NOT EXISTS (SELECT 1 FROM {node.each(w)} AS {a} WHERE NOT {fits})",
            ]
        )
        if not top:
            return is_array
        # JSONB: a top-level scalar is contained by an array that holds it.
        scalars = [item for item in document if not isinstance(item, dict | list)]
        return _any([is_array, *(_scalar_equals(w, node, item) for item in scalars)])
    return _scalar_equals(w, node, document)


def _has_key(w: SqliteWriter, node: Node, key: str) -> str:
    a = w.alias()
    return (
        f"(CASE {node.type(w)} "
        f"WHEN 'object' THEN {child(w, node, key).type(w)} IS NOT NULL "
        f"WHEN 'array' THEN EXISTS (SELECT 1 FROM {node.each(w)} AS {a} "
        f"WHERE {a}.type IS 'text' AND {a}.atom IS {w.param(key)}) "
        f"WHEN 'text' THEN {node.atom(w)} IS {w.param(key)} "
        "ELSE 0 END)"
    )


@compiles(JsonValue, "sqlite")
def _value_sqlite(element: JsonValue, compiler: SQLCompiler, **kw: Any) -> str:
    w = SqliteWriter(compiler, kw)
    node = node_at(w, element.column, element.path)
    return f"NULLIF({node.text(w)}, 'null')"


@compiles(IndexedJsonValue, "sqlite")
def _indexed_value_sqlite(element: IndexedJsonValue, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.stored, **kw)


@compiles(JsonText, "sqlite")
def _text_sqlite(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.value, **kw)


@compiles(JsonScalar, "sqlite")
def _scalar_sqlite(element: JsonScalar, compiler: SQLCompiler, **kw: Any) -> str:
    w = SqliteWriter(compiler, kw)
    node = node_at(w, element.column, element.path)
    types = {
        "string": "'text'",
        "number": "'integer', 'real'",
        "boolean": "'true', 'false'",
    }[element.kind]
    return f"CASE WHEN {node.type(w)} IN ({types}) THEN {node.atom(w)} END"


@compiles(JsonString, "sqlite")
def _string_sqlite(element: JsonString, compiler: SQLCompiler, **kw: Any) -> str:
    w = SqliteWriter(compiler, kw)
    node = node_at(w, element.column, element.path)
    # Not ->>: it gives true as 1 and numbers as SQL numbers (1.0 would read 1.0, 1e300 as
    # 1.0e+300), where the JSON text is wanted.
    return (
        f"CASE {node.type(w)} WHEN 'text' THEN {node.atom(w)} WHEN 'null' THEN NULL "
        f"ELSE {node.text(w)} END"
    )


@compiles(JsonIsContainer, "sqlite")
def _is_container_sqlite(element: JsonIsContainer, compiler: SQLCompiler, **kw: Any) -> str:
    w = SqliteWriter(compiler, kw)
    node = node_at(w, element.column, element.path)
    return f"COALESCE({node.type(w)} IN ('object', 'array'), 0)"


def _needle(document: Any) -> str | None:
    """The longest text a JSON document holding ``document`` must contain: one of its
    strings or object keys, as orjson writes it (with its quotes).

    Every JSON column is written by orjson (``store/engine.py``), which spells a string
    one way only, so a document without that text cannot contain ``document``. Keys that
    read as array indexes are left out: they may index an array instead.
    """
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            texts.extend(k for k in value if array_index(k) is None)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    if not texts:
        return None
    return max((orjson.dumps(text).decode() for text in texts), key=len)


@compiles(JsonContains, "sqlite")
def _contains_sqlite(element: JsonContains, compiler: SQLCompiler, **kw: Any) -> str:
    w = SqliteWriter(compiler, kw)
    test = _contains(w, node_at(w, element.column, element.path), element.document, top=True)
    needle = _needle(element.document)
    if needle is None:
        return test
    # A substring search first rules out most rows without parsing their JSON: a
    # jsonContains {"plan": "enterprise"} count over 1,000,000 conversations took 472 ms,
    # now 270 ms (bench/query.py).
    return f"(instr({w.column(element.column)}, {w.param(needle)}) > 0 AND {test})"


@compiles(JsonContainedBy, "sqlite")
def _contained_sqlite(element: JsonContainedBy, compiler: SQLCompiler, **kw: Any) -> str:
    w = SqliteWriter(compiler, kw)
    node = node_at(w, element.column, element.path)
    return _contained_by(w, node, element.document, top=True)


@compiles(JsonHasKeys, "sqlite")
def _has_keys_sqlite(element: JsonHasKeys, compiler: SQLCompiler, **kw: Any) -> str:
    w = SqliteWriter(compiler, kw)
    node = node_at(w, element.column, element.path)
    parts = [_has_key(w, node, key) for key in element.keys]
    return _all(parts) if element.require_all else _any(parts)


@compiles(CodePointOrder, "sqlite")
def _code_point_order_sqlite(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    # BINARY, SQLite's default collation, compares UTF-8 bytes: code point order.
    return compiler.process(element.value, **kw)
