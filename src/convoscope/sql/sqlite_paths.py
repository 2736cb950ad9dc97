"""How SQLite reaches the JSON value at a path: bound JSON path strings where SQLite's
path syntax can spell the key, ``json_each`` where it cannot.

A key that a JSON path string cannot spell (a quote, a backslash, a control or non-ASCII
character: SQLite compares such keys in their escaped form) is looked up with
``json_each``, which compares decoded keys. A key of digits is tried as an array index
first, then as an object key, as ``#>`` does. Every key and value is a bound parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Integer, String, bindparam
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from convoscope.sql.constructs import array_index

JsonScalarValue = str | int | float | bool | None

# Keys SQLite's path syntax can carry inside double quotes, compared byte for byte.
PLAIN_KEY = re.compile(r"^[\x20-\x21\x23-\x5b\x5d-\x7e]*$")


class SqliteWriter:
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


_FIRST_CHARACTER = {"object": "{", "array": "["}


@dataclass(frozen=True, slots=True)
class Node:
    """A JSON value inside a row: ``base`` (SQL giving JSON text) and a path below it.

    A node that is an element of ``json_each`` knows its type and atom directly.
    """

    base: str
    steps: tuple[str, ...] = ()
    each_type: str | None = None
    each_atom: str | None = None
    # The base is a JSON column, or JSON text selected from one: compact text (orjson's
    # or SQLite's, see store/engine.py), in which an object starts with { and an array
    # with [, and nothing else does.
    column_root: bool = False

    def path(self, w: SqliteWriter) -> str:
        return w.param("$" + "".join(self.steps))

    def type(self, w: SqliteWriter) -> str:
        if self.each_type is not None:
            return self.each_type
        if self.steps:
            return f"json_type({self.base}, {self.path(w)})"
        return f"json_type({self.base})"

    def is_kind(self, w: SqliteWriter, kind: str) -> str:
        """SQL that is true when the node is a JSON ``kind`` (a json_type name). At the
        root of a column, objects and arrays are told by their first character:
        json_type would parse the document once more before the json_each that usually
        follows (which takes no parse from SQLite's cache), 887 -> 681 ms for a
        jsonContainedBy over 1M conversations."""
        first = _FIRST_CHARACTER.get(kind)
        if self.column_root and not self.steps and first is not None:
            return f"substr({self.base}, 1, 1) IS '{first}'"
        return f"{self.type(w)} IS '{kind}'"

    def atom(self, w: SqliteWriter) -> str:
        if self.each_atom is not None:
            return self.each_atom
        if self.steps:
            return f"json_extract({self.base}, {self.path(w)})"
        return f"json_extract({self.base}, '$')"

    def text(self, w: SqliteWriter) -> str:
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

    def each(self, w: SqliteWriter) -> str:
        if self.steps:
            return f"json_each({self.base}, {self.path(w)})"
        return f"json_each({self.base})"


def member(alias: str) -> Node:
    """The node of one row of ``json_each``; its base is only JSON text for containers."""
    return Node(
        base=f"CASE WHEN {alias}.type IN ('object', 'array') THEN {alias}.value END",
        each_type=f"{alias}.type",
        each_atom=f"{alias}.atom",
    )


def child(w: SqliteWriter, node: Node, key: str) -> Node:
    if PLAIN_KEY.match(key):
        by_key = Node(node.base, (*node.steps, f'."{key}"'))
    else:
        a = w.alias()
        element = member(a)
        by_key = Node(
            f"(SELECT {element.text(w)} FROM {node.each(w)} AS {a} "
            f"WHERE {node.is_kind(w, 'object')} AND {a}.key IS {w.param(key)} LIMIT 1)"
        )
    index = array_index(key)
    if index is None:
        return by_key
    # An object has no element and an array no member, so at most one of the two is set.
    key_text = by_key.text(w)
    step = f"[{index}]" if index >= 0 else f"[#{index}]"
    by_index = Node(node.base, (*node.steps, step)).text(w)
    return Node(f"COALESCE({by_index}, {key_text})")


def node_at(w: SqliteWriter, column: ColumnElement[Any], path: tuple[str, ...]) -> Node:
    node = Node(w.column(column), column_root=True)
    for key in path:
        node = child(w, node, key)
    return node
