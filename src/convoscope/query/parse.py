"""From a validated request to a canonical ``Query``, naming the part at fault on every error.

The request is typed (``request.py``); its body was checked against the wire model before
(``convoscope.api.bodies``).

Errors are ``QueryError`` (400: the query does not fit the DSL) or ``UnanswerableQuery``
(422: it fits, but cannot produce what it asks for). ``field`` is the path inside the body,
such as ``select[1].field`` or ``where.and[2].condition.operator``.
"""

from __future__ import annotations

from typing import Any

from convoscope.errors import QueryError, UnanswerableQuery
from convoscope.query.fields import AGGREGATIONS, Field, Kind, Resource, order_by_names
from convoscope.query.model import (
    AllOf,
    AnyOf,
    Condition,
    Filter,
    GroupKey,
    Order,
    Query,
    SelectAggregate,
    SelectField,
    Selection,
    SelectTime,
)
from convoscope.query.operators import NULL_TESTS, OPERATORS, Target
from convoscope.query.request import (
    AggregationSelection,
    FieldSelection,
    QueryRequest,
    TimeSelection,
    search_text,
)
from convoscope.sql import first_unstorable

# Deep enough for any query a person or a dashboard writes; shallow enough that a
# hostile body cannot exhaust the stack of the compiler or of the database's parser.
MAX_DEPTH = 16
MAX_CONDITIONS = 500
# A JSON document in a condition compiles to SQL that grows with its members, and SQLite
# refused deep or wide ones ("parser stack overflow" at 100 levels, "Expression tree is
# too large" at 20,000 keys). Building and preparing 1,000 members takes about 0.3 s;
# 4,000 took 3 s, past any time limit, before the query had run a step.
MAX_DOCUMENT_DEPTH = 8
MAX_DOCUMENT_MEMBERS = 1_000
_NUMERIC_KINDS = (Kind.NUMBER, Kind.BOOLEAN)


def parse_query(resource: Resource, body: QueryRequest) -> Query:
    """Check every name and value of ``body`` against ``resource``; return the query."""
    # A key selected twice is selected once, as first asked: the compiler and the export
    # then agree on what its column holds.
    first: dict[str, Selection] = {}
    for i, s in enumerate(body.select or []):
        selection = _selection(resource, s, f"select[{i}]")
        first.setdefault(selection.key, selection)
    selections = tuple(first.values())
    group_by = tuple(
        _group_key(resource, g.field, tuple(g.path or ()), g.includeInSelect, f"groupBy[{i}]")
        for i, g in enumerate(body.groupBy or [])
    )
    where = parse_filter(resource, body.where, "where") if body.where is not None else None
    search = None
    if resource.search_columns:
        search = search_text(body) or None
    query = Query(resource, selections, _dedupe_groups(group_by), where, (), search)
    orders = tuple(
        _order(resource, query, o.field, o.direction, f"orderBy[{i}].field")
        for i, o in enumerate(body.orderBy or [])
    )
    return Query(resource, selections, query.group_by, where, orders, search)


class UnknownField(QueryError):
    """A field name the resource does not have."""


def _field(resource: Resource, name: str | None, where: str) -> Field:
    if name is None or name not in resource.fields:
        names = ", ".join(resource.fields)
        shown = "nothing" if name is None else repr(name[:60])
        raise UnknownField(
            f"{where}: must be one of the {resource.name} fields ({names}); got {shown}",
            field=where,
        )
    return resource.fields[name]


def _check_path(field: Field, path: tuple[str, ...], where: str) -> None:
    if path and not field.kind.is_json:
        raise QueryError(
            f"{where}: a path applies only to JSON fields; {field.name} is a {field.kind.value}",
            field=where,
        )


def _selection(
    resource: Resource, s: FieldSelection | AggregationSelection | TimeSelection, where: str
) -> Selection:
    if s.type == "field":
        field = _field(resource, s.field, f"{where}.field")
        path = tuple(s.path or ())
        _check_path(field, path, f"{where}.path")
        if path and s.mode == "json":
            raise QueryError(
                f"{where}.mode: mode json takes the whole field; leave out path",
                field=f"{where}.mode",
            )
        return SelectField(_key(field.name, path), field, path, as_json=s.mode == "json")
    if s.type == "aggregation":
        return _aggregate(resource, s, where)
    field = _field(resource, s.field or resource.main_time, f"{where}.field")
    if field.kind is not Kind.TIME:
        raise QueryError(
            f"{where}.field: time buckets need a timestamp field; {field.name} is a "
            f"{field.kind.value}",
            field=f"{where}.field",
        )
    return SelectTime(f"{field.name}_{s.timeUnit}", field, s.timeUnit)


def _aggregate(resource: Resource, s: AggregationSelection, where: str) -> SelectAggregate:
    aggregation = s.aggregation
    assert aggregation in AGGREGATIONS
    if s.field is None:
        if s.path:
            raise QueryError(f"{where}.path: a path needs a field", field=f"{where}.path")
        if aggregation != "count":
            raise UnanswerableQuery(
                f"{where}.field: {aggregation} needs a field to aggregate",
                field=f"{where}.field",
            )
        return SelectAggregate("count", "count")
    field = _field(resource, s.field, f"{where}.field")
    path = tuple(s.path or ())
    _check_path(field, path, f"{where}.path")
    if aggregation in {"sum", "avg", "min", "max"} and not path:
        numeric = field.kind in _NUMERIC_KINDS or (
            field.kind is Kind.TIME and aggregation in {"min", "max"}
        )
        if not numeric:
            raise UnanswerableQuery(
                f"{where}.field: {aggregation} of {field.name} cannot produce a number; "
                f"{field.name} is a {field.kind.value}",
                field=f"{where}.field",
            )
    return SelectAggregate(f"{aggregation}_{_key(field.name, path)}", aggregation, field, path)


def _group_key(
    resource: Resource, name: str, path: tuple[str, ...], include: bool, where: str
) -> GroupKey:
    field = _field(resource, name, f"{where}.field")
    _check_path(field, path, f"{where}.path")
    return GroupKey(_key(field.name, path), field, path, include)


def _dedupe_groups(keys: tuple[GroupKey, ...]) -> tuple[GroupKey, ...]:
    seen: dict[str, GroupKey] = {}
    for k in keys:
        if k.key in seen:
            if k.include and not seen[k.key].include:
                seen[k.key] = k
            continue
        seen[k.key] = k
    return tuple(seen.values())


def _key(name: str, path: tuple[str, ...]) -> str:
    return ".".join((name, *path))


def result_keys(query: Query) -> list[str]:
    """The keys of the result rows that can be ordered on, in output order."""
    keys = [s.key for s in query.selections]
    keys += [g.key for g in query.group_by]
    if not query.is_grouped and not query.selections:
        keys += list(query.resource.fields)
    return keys


def _order(resource: Resource, query: Query, name: str, direction: str, where: str) -> Order:
    available = set(result_keys(query))
    if not query.is_grouped:
        available |= set(resource.fields)
    if name not in available:
        if name in order_by_names(resource):
            raise UnanswerableQuery(
                f"{where}: {name!r} is not in the result; order by one of "
                f"{', '.join(sorted(available)) or 'nothing (the result has no keys)'}",
                field=where,
            )
        raise QueryError(
            f"{where}: {name[:60]!r} is not an order-by name of {resource.name}", field=where
        )
    return Order(name, direction == "desc")


def parse_filter(resource: Resource, node: Any, where: str) -> Filter:
    counter = [0, 0]  # conditions, and members of their JSON documents
    return _filter(resource, node, where, 1, counter)


def _filter(resource: Resource, node: Any, where: str, depth: int, counter: list[int]) -> Filter:
    if depth > MAX_DEPTH:
        raise QueryError(f"{where}: filters may nest at most {MAX_DEPTH} levels deep", field=where)
    if not isinstance(node, dict):
        raise QueryError(f"{where}: must be an object with one of condition, and, or", field=where)
    present = [k for k in ("condition", "and", "or") if k in node]
    if len(present) != 1:
        raise QueryError(
            f"{where}: must have exactly one of condition, and, or; got "
            f"{', '.join(present) or 'none'}",
            field=where,
        )
    kind = present[0]
    if kind == "condition":
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            raise QueryError(
                f"{where}: a filter may hold at most {MAX_CONDITIONS} conditions", field=where
            )
        condition = _condition(resource, node["condition"], f"{where}.condition")
        counter[1] += _count_members(condition.value, condition.location + ".value", 1)
        if counter[1] > MAX_DOCUMENT_MEMBERS:
            raise QueryError(
                f"{condition.location}.value: the JSON values of a filter may hold at most "
                f"{MAX_DOCUMENT_MEMBERS} members in all",
                field=f"{condition.location}.value",
            )
        return condition
    items = node[kind]
    if not isinstance(items, list):
        raise QueryError(f"{where}.{kind}: must be an array of filters", field=f"{where}.{kind}")
    parsed = tuple(
        _filter(resource, item, f"{where}.{kind}[{i}]", depth + 1, counter)
        for i, item in enumerate(items)
    )
    if len(parsed) == 1:
        return parsed[0]
    return AllOf(parsed) if kind == "and" else AnyOf(parsed)


def _count_members(value: Any, where: str, depth: int) -> int:
    """How many keys and items ``value`` holds, at any depth; refuses deep nesting."""
    if not isinstance(value, dict | list):
        return 0
    if depth > MAX_DOCUMENT_DEPTH:
        raise QueryError(
            f"{where}: a JSON value may nest at most {MAX_DOCUMENT_DEPTH} levels deep",
            field=where,
        )
    items = value.values() if isinstance(value, dict) else value
    return len(value) + sum(_count_members(item, where, depth + 1) for item in items)


def _condition(resource: Resource, node: Any, where: str) -> Condition:
    if not isinstance(node, dict):
        raise QueryError(f"{where}: must be an object with field and operator", field=where)
    field = _field(resource, node.get("field"), f"{where}.field")
    operator_name = node.get("operator")
    if not isinstance(operator_name, str) or operator_name not in OPERATORS:
        raise QueryError(
            f"{where}.operator: must be one of {', '.join(OPERATORS)}; got "
            f"{str(operator_name)[:40]!r}",
            field=f"{where}.operator",
        )
    operator = OPERATORS[operator_name]
    value = node.get("value")
    value_at = f"{where}.value"
    path: tuple[str, ...] = ()
    if isinstance(value, dict) and _is_path_form(value):
        if not field.kind.is_json:
            raise QueryError(
                f"{value_at}.path: a path applies only to JSON fields; {field.name} is a "
                f"{field.kind.value}",
                field=f"{value_at}.path",
            )
        path = tuple(value["path"])
        value = value.get("value")
        value_at = f"{value_at}.value"
    target = Target(field, path)
    if not operator.fits(target):
        raise QueryError(
            f"{where}.operator: {operator_name} does not apply to {field.name} "
            f"(a {field.kind.value})"
            + ("; give a {path, value} to test a value inside it" if field.kind.is_json else ""),
            field=f"{where}.operator",
        )
    if operator_name in NULL_TESTS:
        checked = None
    else:
        if "value" not in node:
            raise QueryError(f"{value_at}: {operator_name} needs a value", field=value_at)
        unstorable = first_unstorable(value, value_at)
        if unstorable is not None:  # no column holds it: a bound parameter would fail
            raise QueryError(f"{unstorable[0]}: {unstorable[1]}", field=unstorable[0])
        checked = operator.check(target, value, value_at)
    return Condition(field, operator, path, checked, where)


def _is_path_form(value: Any) -> bool:
    """``{"path": [...], "value": ...}``: compare the value at a path inside a JSON field."""
    if not isinstance(value, dict) or "path" not in value:
        return False
    if not set(value) <= {"path", "value"}:
        return False
    path = value["path"]
    return (
        isinstance(path, list)
        and 0 < len(path) <= 32
        and all(isinstance(p, str) and len(p) <= 1000 for p in path)
    )
