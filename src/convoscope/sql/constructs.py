"""The SQL constructs the compiler builds queries from, free of any dialect.

Each is a ``ColumnElement`` whose SQL text is written per dialect by ``@compiles``
functions in ``postgresql.py`` and ``sqlite_*.py``; the operators have PostgreSQL JSONB
semantics on both engines. JSON paths are lists of keys; a key that reads as an integer
also indexes an array (as ``#>`` does, see ``array_index``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Boolean, Numeric, String, Text
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType, TypeEngine

# A key #> also reads as an array index, as PostgreSQL parses it (strtol into an int4):
# leading white space, a sign, decimal digits; a negative index counts from the end.
_ARRAY_STEP = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_INT4 = 2**31


def array_index(key: str) -> int | None:
    """The array index ``key`` names on PostgreSQL, or None."""
    found = _ARRAY_STEP.fullmatch(key)
    if found is None:
        return None
    index = int(found.group(1))
    return index if -_INT4 <= index < _INT4 else None


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


class IndexedJsonValue(JsonValue):
    """A ``JsonValue`` whose path has an index (indexing/path_indexes.py). SQLite reads it
    from the index's generated column, which holds the same expression; PostgreSQL
    writes the expression, which its planner matches with the index."""

    inherit_cache = False

    def __init__(
        self, column: ColumnElement[Any], path: tuple[str, ...], stored: ColumnElement[Any]
    ) -> None:
        super().__init__(column, path)
        self.stored = stored


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


class JsonString(_Json):
    """The value at ``path`` as property discovery shows it: a JSON string as itself, any
    other value as its JSON text; NULL when absent or JSON null. ``"3"`` and ``3`` both
    become ``3``, so they group together."""

    inherit_cache = False

    type = Text()

    def __init__(self, column: ColumnElement[Any], path: tuple[str, ...]) -> None:
        self.column = column
        self.path = path


class JsonIsContainer(_Json):
    """Whether the value at ``path`` is a JSON object or array."""

    inherit_cache = False

    type = Boolean()

    def __init__(self, column: ColumnElement[Any], path: tuple[str, ...]) -> None:
        self.column = column
        self.path = path


class _JsonAgainstDocument(_Json):
    """A test of the value at ``path`` against a JSON ``document``."""

    inherit_cache = False

    type = PREDICATE

    def __init__(self, column: ColumnElement[Any], path: tuple[str, ...], document: Any) -> None:
        self.column = column
        self.path = path
        self.document = document


class JsonContains(_JsonAgainstDocument):
    """``column #> path @> document``."""

    inherit_cache = False


class JsonContainedBy(_JsonAgainstDocument):
    """``column #> path <@ document``."""

    inherit_cache = False


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


class CodePointOrder(_Json):
    """Text that sorts by code point, as Python and SQLite's BINARY collation do, whatever
    collation the PostgreSQL database was created with (``COLLATE "C"`` there)."""

    inherit_cache = False

    type = Text()

    def __init__(self, value: ColumnElement[Any]) -> None:
        self.value = value
