"""The 17 filter operators of API.md §4.5, one small class each.

Each operator checks that it fits the field and that the value has the right shape
(``check``), turns a condition into SQL (``to_sql``) and into English (``describe``, for
the dashboard's "conversations where …" line). Values only ever become bound parameters.

Comparisons on a JSON path are typed, as in JSONB: ``"42"`` does not equal ``42``, and
``gt`` compares numbers with numbers and strings with strings; a value of another type
does not match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import and_, false, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from convoscope.errors import QueryError
from convoscope.query.fields import Field, Kind
from convoscope.sql import JsonContainedBy, JsonContains, JsonHasKeys, JsonScalar, JsonValue
from convoscope.timestamps import parse_timestamp

MAX_LIST = 10_000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Target:
    """What a condition tests: a field, or the JSON value at ``path`` inside one."""

    field: Field
    path: tuple[str, ...] = ()

    @property
    def is_path(self) -> bool:
        return bool(self.path)

    @property
    def label(self) -> str:
        return ".".join((self.field.name, *self.path))

    def column(self) -> ColumnElement[Any]:
        return self.field.column()

    def json_value(self) -> ColumnElement[Any]:
        return JsonValue(self.column(), self.path)

    def typed(self, value: Scalar) -> ColumnElement[Any]:
        return JsonScalar(self.column(), self.path, json_kind(value))


def _bool(expression: Any) -> ColumnElement[bool]:
    # The comparison operators of ColumnElement are typed as returning Any.
    return cast("ColumnElement[bool]", expression)


def json_kind(value: Scalar) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or is_number(value)


def parse_time_value(value: Any, where: str) -> datetime:
    """An ISO-8601 date-time with a zone, or a date (midnight UTC)."""
    if isinstance(value, str) and _DATE.match(value):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            pass
    try:
        parsed = parse_timestamp(value)
    except ValueError as err:
        raise QueryError(f"{where}: {err}", field=where) from None
    if parsed is None:
        raise QueryError(f"{where}: a timestamp is required", field=where)
    return parsed


def _fail(where: str, message: str) -> QueryError:
    return QueryError(f"{where}: {message}", field=where)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Operator:
    key: ClassVar[str]
    # Kinds of field the operator applies to without a path; any JSON field takes a path.
    kinds: ClassVar[frozenset[Kind]]
    words: ClassVar[str]

    def fits(self, target: Target) -> bool:
        if target.is_path:
            return True
        return target.field.kind in self.kinds

    def check(self, target: Target, value: Any, where: str) -> Any:
        """The value in the form ``to_sql`` takes; raise ``QueryError`` if it does not fit."""
        return value

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        raise NotImplementedError

    def describe(self, target: Target, value: Any) -> str:
        return f"{target.label} {self.words} {_show(value)}"


_SCALAR_KINDS = frozenset({Kind.STRING, Kind.NUMBER, Kind.TIME, Kind.BOOLEAN})
_JSON_KINDS = frozenset({Kind.OBJECT, Kind.ARRAY, Kind.OBJECT_ARRAY})


def _check_scalar(target: Target, value: Any, where: str, *, ordered: bool) -> Any:
    """A value comparable with the field (or, on a path, any JSON scalar)."""
    if target.is_path:
        if value is None and not ordered:
            return None
        if not is_scalar(value):
            raise _fail(where, "must be a string, a number or a boolean")
        if ordered and isinstance(value, bool):
            raise _fail(where, "booleans have no order; use eq or neq")
        return value
    kind = target.field.kind
    if kind is Kind.STRING and isinstance(value, str):
        return value
    if kind is Kind.NUMBER and is_number(value):
        return value
    if kind is Kind.BOOLEAN and isinstance(value, bool):
        return value
    if kind is Kind.TIME:
        return parse_time_value(value, where)
    expected = {
        Kind.STRING: "a string",
        Kind.NUMBER: "a number",
        Kind.BOOLEAN: "true or false",
    }[kind]
    raise _fail(where, f"{target.field.name} is compared with {expected}; got {_show(value)}")


class _Comparison(Operator):
    kinds = _SCALAR_KINDS
    ordered: ClassVar[bool] = True

    def fits(self, target: Target) -> bool:
        if target.is_path:
            return True
        if self.ordered and target.field.kind is Kind.BOOLEAN:
            return False
        return target.field.kind in self.kinds

    def check(self, target: Target, value: Any, where: str) -> Any:
        return _check_scalar(target, value, where, ordered=self.ordered)

    def compare(self, left: ColumnElement[Any], right: Any) -> ColumnElement[bool]:
        raise NotImplementedError

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        if target.is_path:
            return self.compare(target.typed(value), value)
        return self.compare(target.column(), value)


class Eq(_Comparison):
    key = "eq"
    words = "equals"
    ordered = False

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        if value is None:
            return target.json_value().is_(None)
        return super().to_sql(target, value)

    def compare(self, left: ColumnElement[Any], right: Any) -> ColumnElement[bool]:
        return _bool(left == right)


class Neq(_Comparison):
    key = "neq"
    words = "differs from"
    ordered = False

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        if value is None:
            return target.json_value().is_not(None)
        return super().to_sql(target, value)

    def compare(self, left: ColumnElement[Any], right: Any) -> ColumnElement[bool]:
        # SQL semantics, as documented: a NULL field matches neither eq nor neq.
        return _bool(left != right)


class Gt(_Comparison):
    key = "gt"
    words = "is greater than"

    def compare(self, left: ColumnElement[Any], right: Any) -> ColumnElement[bool]:
        return _bool(left > right)


class Gte(_Comparison):
    key = "gte"
    words = "is at least"

    def compare(self, left: ColumnElement[Any], right: Any) -> ColumnElement[bool]:
        return _bool(left >= right)


class Lt(_Comparison):
    key = "lt"
    words = "is less than"

    def compare(self, left: ColumnElement[Any], right: Any) -> ColumnElement[bool]:
        return _bool(left < right)


class Lte(_Comparison):
    key = "lte"
    words = "is at most"

    def compare(self, left: ColumnElement[Any], right: Any) -> ColumnElement[bool]:
        return _bool(left <= right)


def _check_list(target: Target, value: Any, where: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise _fail(where, "must be an array of values")
    if len(value) > MAX_LIST:
        raise _fail(where, f"may hold at most {MAX_LIST} values; got {len(value)}")
    return tuple(
        None if item is None else _check_scalar(target, item, f"{where}[{i}]", ordered=False)
        for i, item in enumerate(value)
    )


def _is_one_of(target: Target, values: tuple[Any, ...]) -> ColumnElement[bool]:
    """True when the target equals one of the non-null values (typed on a path)."""
    present = [v for v in values if v is not None]
    if not present:
        return false()
    if not target.is_path:
        return target.column().in_(present)
    by_kind: dict[str, list[Any]] = {}
    for v in present:
        by_kind.setdefault(json_kind(v), []).append(v)
    return or_(*(target.typed(vs[0]).in_(vs) for vs in by_kind.values()))


def _is_null(target: Target) -> ColumnElement[bool]:
    return target.json_value().is_(None) if target.is_path else target.column().is_(None)


class In(Operator):
    key = "in"
    kinds = _SCALAR_KINDS
    words = "is one of"

    def check(self, target: Target, value: Any, where: str) -> Any:
        return _check_list(target, value, where)

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        match = _is_one_of(target, value)
        if None in value:
            return or_(match, _is_null(target))
        return match


class NotIn(Operator):
    key = "notIn"
    kinds = _SCALAR_KINDS
    words = "is none of"

    def check(self, target: Target, value: Any, where: str) -> Any:
        return _check_list(target, value, where)

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        # A NULL field is none of the values, but as with neq, NULL never matches.
        return and_(not_(_is_null(target)), not_(_is_one_of(target, value)))


def _check_document(value: Any, where: str, *, allow_scalar: bool) -> Any:
    if isinstance(value, dict | list):
        return value
    if allow_scalar and (is_scalar(value) or value is None):
        return value
    raise _fail(where, "must be a JSON object or array")


class ArrayContains(Operator):
    key = "arrayContains"
    kinds = frozenset({Kind.ARRAY, Kind.OBJECT_ARRAY})
    words = "contains"

    def check(self, target: Target, value: Any, where: str) -> Any:
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if not (is_scalar(item) or isinstance(item, dict)):
                at = f"{where}[{i}]" if isinstance(value, list) else where
                raise _fail(at, "must be a string, a number, a boolean or an object")
        return list(items)

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        return JsonContains(target.column(), target.path, value)


class JsonContainsOp(Operator):
    key = "jsonContains"
    kinds = _JSON_KINDS
    words = "contains"

    def check(self, target: Target, value: Any, where: str) -> Any:
        return _check_document(value, where, allow_scalar=target.is_path)

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        return JsonContains(target.column(), target.path, value)


class JsonContainedByOp(Operator):
    key = "jsonContainedBy"
    kinds = _JSON_KINDS
    words = "is contained in"

    def check(self, target: Target, value: Any, where: str) -> Any:
        return _check_document(value, where, allow_scalar=target.is_path)

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        return JsonContainedBy(target.column(), target.path, value)


class JsonHasKey(Operator):
    key = "jsonHasKey"
    kinds = _JSON_KINDS
    words = "has the key"

    def check(self, target: Target, value: Any, where: str) -> Any:
        if not isinstance(value, str):
            raise _fail(where, "must be a key (a string)")
        return value

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        return JsonHasKeys(target.column(), target.path, (value,), require_all=True)


def _check_keys(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _fail(where, "must be a non-empty array of keys")
    if len(value) > MAX_LIST:
        raise _fail(where, f"may hold at most {MAX_LIST} keys; got {len(value)}")
    for i, key in enumerate(value):
        if not isinstance(key, str):
            raise _fail(f"{where}[{i}]", "must be a key (a string)")
    return tuple(value)


class JsonHasAnyKey(Operator):
    key = "jsonHasAnyKey"
    kinds = _JSON_KINDS
    words = "has any of the keys"

    def check(self, target: Target, value: Any, where: str) -> Any:
        return _check_keys(value, where)

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        return JsonHasKeys(target.column(), target.path, value, require_all=False)


class JsonHasAllKeys(Operator):
    key = "jsonHasAllKeys"
    kinds = _JSON_KINDS
    words = "has all of the keys"

    def check(self, target: Target, value: Any, where: str) -> Any:
        return _check_keys(value, where)

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        return JsonHasKeys(target.column(), target.path, value, require_all=True)


class JsonArrayContainsObject(Operator):
    key = "jsonArrayContainsObject"
    kinds = frozenset({Kind.ARRAY, Kind.OBJECT_ARRAY})
    words = "has an element containing"

    def check(self, target: Target, value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise _fail(where, 'must be a JSON object, e.g. {"label": "inaccurate"}')
        return value

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        return JsonContains(target.column(), target.path, [value])


class IsNull(Operator):
    key = "isNull"
    kinds = _SCALAR_KINDS | _JSON_KINDS
    words = "is empty"

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        return _is_null(target)

    def describe(self, target: Target, value: Any) -> str:
        return f"{target.label} is empty"


class IsNotNull(Operator):
    key = "isNotNull"
    kinds = _SCALAR_KINDS | _JSON_KINDS
    words = "is present"

    def to_sql(self, target: Target, value: Any) -> ColumnElement[bool]:
        return not_(_is_null(target))

    def describe(self, target: Target, value: Any) -> str:
        return f"{target.label} is present"


OPERATORS: dict[str, Operator] = {
    op.key: op
    for op in (
        Eq(),
        Neq(),
        Gt(),
        Gte(),
        Lt(),
        Lte(),
        In(),
        NotIn(),
        ArrayContains(),
        JsonContainsOp(),
        JsonContainedByOp(),
        JsonHasKey(),
        JsonArrayContainsObject(),
        JsonHasAnyKey(),
        JsonHasAllKeys(),
        IsNull(),
        IsNotNull(),
    )
}

# The operators that take no value.
NULL_TESTS = frozenset({"isNull", "isNotNull"})
