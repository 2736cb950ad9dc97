"""A reference evaluator for the query DSL, in plain Python, written from API.md §4 and
PostgreSQL's documented JSONB semantics rather than from the compiler.

It evaluates filters over conversation rows (dicts keyed by wire field names) and a
subset of grouped queries, and is the oracle the differential tests compare both
databases with.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

_MISSING = object()


def parse_time(text: str) -> datetime:
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON scalars: the types must agree (true is not 1)."""
    return json_type(a) == json_type(b) and bool(a == b)


def array_index(key: str) -> int | None:
    """PostgreSQL reads a path key as an array index with strtol into an int4."""
    found = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?[0-9]+)", key)
    if found is None:
        return None
    index = int(found.group(1))
    return index if -(2**31) <= index < 2**31 else None


def at_path(document: Any, path: list[str]) -> Any:
    """``#>``: keys into objects, integers into arrays (negative from the end); _MISSING
    when absent."""
    node = document
    for key in path:
        if isinstance(node, dict):
            if key not in node:
                return _MISSING
            node = node[key]
        elif isinstance(node, list):
            index = array_index(key)
            if index is None or not -len(node) <= index < len(node):
                return _MISSING
            node = node[index]
        else:
            return _MISSING
    return node


def contains(a: Any, b: Any, *, top: bool) -> bool:
    """``a @> b``."""
    if isinstance(b, dict):
        return isinstance(a, dict) and all(
            k in a and contains(a[k], v, top=False) for k, v in b.items()
        )
    if isinstance(b, list):
        return isinstance(a, list) and all(any(contains(x, y, top=False) for x in a) for y in b)
    if isinstance(a, list) and top:
        return any(json_equal(x, b) for x in a if not isinstance(x, dict | list))
    return not isinstance(a, dict | list) and json_equal(a, b)


def has_key(node: Any, key: str) -> bool:
    """``node ? key``."""
    if isinstance(node, dict):
        return key in node
    if isinstance(node, list):
        return any(isinstance(x, str) and x == key for x in node)
    return isinstance(node, str) and node == key


FIELD_KIND = {
    "id": "string",
    "userMessageCount": "number",
    "organizationId": "string",
    "projectId": "string",
    "integrationId": "string",
    "firstMessageTime": "time",
    "type": "string",
    "properties": "json",
    "userProperties": "json",
}


def _value(row: dict[str, Any], field: str, path: list[str]) -> Any:
    """The tested value: None for SQL NULL, or for an absent / JSON null path."""
    value = row[field]
    if not path:
        return value
    if value is None:
        return None
    found = at_path(value, path)
    return None if found is _MISSING else found


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "neq":
        return bool(left != right)
    if op == "gt":
        return bool(left > right)
    if op == "gte":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    return bool(left <= right)


def evaluate(node: dict[str, Any], row: dict[str, Any]) -> bool:
    if "and" in node:
        return all(evaluate(item, row) for item in node["and"])
    if "or" in node:
        return any(evaluate(item, row) for item in node["or"])
    condition = node["condition"]
    field, op = condition["field"], condition["operator"]
    value = condition.get("value")
    path: list[str] = []
    if (
        FIELD_KIND[field] == "json"
        and isinstance(value, dict)
        and "path" in value
        and set(value) <= {"path", "value"}
    ):
        path, value = value["path"], value.get("value")
    target = _value(row, field, path)
    if op == "isNull":
        return target is None
    if op == "isNotNull":
        return target is not None
    if op in {"eq", "neq", "gt", "gte", "lt", "lte"}:
        if path:
            if value is None:
                return bool((target is None) == (op == "eq"))
            if target is None or json_type(target) != json_type(value):
                return False
            return _compare(op, target, value)
        if target is None:
            return False
        if FIELD_KIND[field] == "time":
            value = parse_time(value)
        return _compare(op, target, value)
    if op in {"in", "notIn"}:
        present = [v for v in value if v is not None]
        if path:
            match = target is not None and any(json_equal(target, v) for v in present)
        else:
            if FIELD_KIND[field] == "time":
                present = [parse_time(v) for v in present]
            match = target is not None and target in present
        if op == "in":
            return match or (None in value and target is None)
        return target is not None and not match
    if target is None:
        return False
    if op == "jsonContains":
        return contains(target, value, top=True)
    if op == "arrayContains":
        return contains(target, value if isinstance(value, list) else [value], top=True)
    if op == "jsonArrayContainsObject":
        return contains(target, [value], top=True)
    if op == "jsonContainedBy":
        return contains(value, target, top=True)
    if op == "jsonHasKey":
        return has_key(target, value)
    if op == "jsonHasAnyKey":
        return any(has_key(target, k) for k in value)
    if op == "jsonHasAllKeys":
        return all(has_key(target, k) for k in value)
    raise AssertionError(op)


def bucket(value: datetime, unit: str) -> str:
    if unit == "hour":
        start = value.replace(minute=0, second=0, microsecond=0)
    elif unit == "day":
        start = value.replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit == "week":
        day = value.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=day.weekday())
    else:
        start = value.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def group(rows: list[dict[str, Any]], body: dict[str, Any]) -> list[dict[str, Any]]:
    """Grouped rows of a query with time buckets, group-by (with paths) and aggregates."""
    dims: list[tuple[str, Any]] = []
    for s in body.get("select", []):
        if s["type"] == "time":
            field = s.get("field", "firstMessageTime")
            dims.append((f"{field}_{s['timeUnit']}", ("time", field, s["timeUnit"])))
    for g in body.get("groupBy", []):
        path = g.get("path") or []
        dims.append((".".join([g["field"], *path]), ("field", g["field"], path)))
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        key = []
        for _name, spec in dims:
            if spec[0] == "time":
                key.append(bucket(row[spec[1]], spec[2]))
            else:
                key.append(_value(row, spec[1], spec[2]))
        groups[tuple(repr(k) for k in key)].append(row)
    out = []
    for members in groups.values():
        result: dict[str, Any] = {}
        first = members[0]
        for name, spec in dims:
            if spec[0] == "time":
                result[name] = bucket(first[spec[1]], spec[2])
            else:
                result[name] = _value(first, spec[1], spec[2])
        for s in body.get("select", []):
            if s["type"] != "aggregation":
                continue
            result.update(_aggregate(s, members))
        out.append(result)
    return out


def _aggregate(s: dict[str, Any], members: list[dict[str, Any]]) -> dict[str, Any]:
    aggregation, field = s["aggregation"], s.get("field")
    if field is None:
        return {"count": len(members)}
    path = s.get("path") or []
    key = f"{aggregation}_{'.'.join([field, *path])}"
    values = [_value(m, field, path) for m in members]
    values = [v for v in values if v is not None]
    if aggregation == "count":
        return {key: len(values)}
    if aggregation == "countDistinct":
        return {key: len({repr(v) for v in values})}
    if path:
        values = [v for v in values if json_type(v) == "number"]
    if not values:
        return {}
    if FIELD_KIND[field] == "time":
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        millis = [(v - epoch) // timedelta(milliseconds=1) for v in values]
        return {key: min(millis) if aggregation == "min" else max(millis)}
    if aggregation == "sum":
        return {key: sum(values)}
    if aggregation == "avg":
        return {key: sum(values) / len(values)}
    return {key: min(values) if aggregation == "min" else max(values)}
