"""Generated data and generated queries give the same answers on SQLite, on PostgreSQL and
in the plain-Python reference evaluator (tests/query/reference.py).

The data is hostile on purpose: keys with dots, quotes, digits and non-ASCII letters;
numbers stored as strings; nested objects and arrays; JSON nulls next to absent keys.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert

from convoscope.api import parse_body
from convoscope.query import CONVERSATIONS, compile_query, fetch_page, parse_query
from convoscope.schemas import QueryConversationsRequestBody
from convoscope.store.tables import conversations
from tests.query import reference

PROJECT, OTHER = "p_diff", "p_other"

KEYS = st.sampled_from(
    ["a", "b", "a.b", 'q"t', "ü", "0", "1", "-1", " 2", "sp ace", "日本", "back\\slash"]
)
STRINGS = st.sampled_from(["a", "b", "1", "true", "ü", 'q"t', "", "A", "日本"])
SCALARS = STRINGS | st.integers(-3, 3) | st.sampled_from([1.5, -2.25]) | st.booleans() | st.none()
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=6,
)
DOCS = st.none() | st.dictionaries(KEYS, JSON, max_size=4)
TIMES = st.sampled_from(
    [
        datetime(2025, 3, 2, 23, 59, 59, 999999, tzinfo=UTC),  # Sunday, last microsecond
        datetime(2025, 3, 3, 0, 0, tzinfo=UTC),  # Monday
        datetime(2025, 2, 28, 12, 30, 15, 123456, tzinfo=UTC),
        datetime(2025, 3, 31, 23, 0, tzinfo=UTC),
        datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
    ]
)
TIME_TEXTS = st.sampled_from(
    ["2025-03-03T00:00:00.000Z", "2025-03-02T23:59:59.999Z", "2025-03-01", "2024-12-31T23:59:59Z"]
)


@st.composite
def rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 10))
    out = []
    for i in range(count):
        out.append(
            {
                "id": f"c{i}" + draw(st.sampled_from(["", "-x", "ü"])),
                "userMessageCount": draw(st.integers(0, 3)),
                "organizationId": "org",
                "projectId": PROJECT,
                "integrationId": draw(st.sampled_from([None, "i1", "i2"])),
                "firstMessageTime": draw(TIMES),
                "type": draw(st.sampled_from(["openai", "support_ticket", "support_copilot"])),
                "properties": draw(DOCS),
                "userProperties": draw(DOCS),
            }
        )
    return out


PATHS = st.lists(KEYS, min_size=1, max_size=3)
ORDERED = ["gt", "gte", "lt", "lte"]


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(list(reference.FIELD_KIND)))
    kind = reference.FIELD_KIND[field]
    if kind == "json":
        return {"condition": {"field": field, **draw(json_condition())}}
    values = {
        "string": st.sampled_from(["c1", "c2-x", "i1", "openai", "support_ticket", "a", ""]),
        "number": st.integers(-1, 4) | st.sampled_from([1.5]),
        "time": TIME_TEXTS,
    }[kind]
    op = draw(st.sampled_from(["eq", "neq", *ORDERED, "in", "notIn", "isNull", "isNotNull"]))
    if op in {"in", "notIn"}:
        value: Any = draw(st.lists(values | st.none(), max_size=3))
    elif op in {"isNull", "isNotNull"}:
        return {"condition": {"field": field, "operator": op}}
    else:
        value = draw(values)
    return {"condition": {"field": field, "operator": op, "value": value}}


@st.composite
def json_condition(draw: st.DrawFn) -> dict[str, Any]:
    with_path = draw(st.booleans())
    path = draw(PATHS)
    non_null = st.one_of(STRINGS, st.integers(-3, 3), st.sampled_from([1.5]), st.booleans())
    if with_path:
        op = draw(
            st.sampled_from(
                [
                    "eq",
                    "neq",
                    *ORDERED,
                    "in",
                    "notIn",
                    "isNull",
                    "isNotNull",
                    "jsonContains",
                    "jsonContainedBy",
                    "arrayContains",
                    "jsonHasKey",
                    "jsonArrayContainsObject",
                ]
            )
        )
        if op in {"eq", "neq"}:
            value: Any = draw(SCALARS)
        elif op in ORDERED:
            value = draw(STRINGS | st.integers(-3, 3) | st.sampled_from([1.5]))
        elif op in {"in", "notIn"}:
            value = draw(st.lists(SCALARS, max_size=3))
        elif op in {"isNull", "isNotNull"}:
            return {"operator": op, "value": {"path": path}}
        elif op in {"jsonContains", "jsonContainedBy"}:
            value = draw(JSON)
        elif op == "arrayContains":
            value = draw(non_null | st.lists(non_null, max_size=2))
        elif op == "jsonHasKey":
            value = draw(KEYS)
        else:
            value = draw(st.dictionaries(KEYS, JSON, max_size=2))
        return {"operator": op, "value": {"path": path, "value": value}}
    op = draw(
        st.sampled_from(
            [
                "jsonContains",
                "jsonContainedBy",
                "jsonHasKey",
                "jsonHasAnyKey",
                "jsonHasAllKeys",
                "isNull",
                "isNotNull",
            ]
        )
    )
    if op in {"jsonContains", "jsonContainedBy"}:
        return {
            "operator": op,
            "value": draw(st.dictionaries(KEYS, JSON, max_size=3) | st.lists(JSON, max_size=2)),
        }
    if op == "jsonHasKey":
        return {"operator": op, "value": draw(KEYS)}
    if op in {"jsonHasAnyKey", "jsonHasAllKeys"}:
        return {"operator": op, "value": draw(st.lists(KEYS, min_size=1, max_size=3))}
    return {"operator": op}


FILTERS = st.recursive(
    conditions(),
    lambda inner: (
        st.builds(lambda items: {"and": items}, st.lists(inner, max_size=3))
        | st.builds(lambda items: {"or": items}, st.lists(inner, max_size=3))
    ),
    max_leaves=5,
)


def conversation_row(
    id: str, *, properties: Any = None, userProperties: Any = None, **overrides: Any
) -> dict[str, Any]:
    """A conversation row for ``store``: one user message on 2025-03-03, no integration;
    ``overrides`` replace any other field."""
    return {
        "id": id,
        "userMessageCount": 1,
        "organizationId": "org",
        "projectId": PROJECT,
        "integrationId": None,
        "firstMessageTime": datetime(2025, 3, 3, tzinfo=UTC),
        "type": "openai",
        "properties": properties,
        "userProperties": userProperties,
        **overrides,
    }


def store(engine: Engine, data: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(conversations))
        records = [_record(PROJECT, row) for row in data]
        # The same rows in another project: no query may ever see them.
        records += [_record(OTHER, row) for row in data]
        if records:
            conn.execute(insert(conversations), records)


def _record(project_id: str, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "id": row["id"],
        "type": row["type"],
        "organization_id": row["organizationId"],
        "integration_id": row["integrationId"],
        "properties": row["properties"],
        "user_properties": row["userProperties"],
        "created_at": row["firstMessageTime"],
        "updated_at": row["firstMessageTime"],
        "first_message_time": row["firstMessageTime"],
        "last_message_time": row["firstMessageTime"],
        "message_count": row["userMessageCount"],
        "user_message_count": row["userMessageCount"],
    }


def run(engine: Engine, body: dict[str, Any]) -> list[dict[str, Any]]:
    query = parse_query(CONVERSATIONS, parse_body(QueryConversationsRequestBody, body))
    compiled = compile_query(query, project_id=PROJECT, with_total=True)
    with engine.connect() as conn:
        result, total = fetch_page(conn, compiled)
    assert total == len(result)
    return result


def unique_ids(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for row in data:
        seen.setdefault(row["id"], row)
    return list(seen.values())


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=rows(), where=FILTERS)
def test_filters_agree_with_the_reference(
    engine: Engine, data: list[dict[str, Any]], where: dict[str, Any]
) -> None:
    data = unique_ids(data)
    store(engine, data)
    got = {
        row["id"]
        for row in run(engine, {"select": [{"type": "field", "field": "id"}], "where": where})
    }
    expected = {row["id"] for row in data if reference.evaluate(where, row)}
    assert got == expected


DIMENSIONS = st.lists(
    st.sampled_from(
        [
            {"field": "type"},
            {"field": "integrationId"},
            {"field": "properties", "path": ["a"]},
            {"field": "userProperties", "path": ["0"]},
        ]
    ),
    max_size=2,
    unique_by=lambda g: repr(g),
)
MEASURES = st.lists(
    st.sampled_from(
        [
            {"type": "aggregation", "aggregation": "count"},
            {"type": "aggregation", "aggregation": "sum", "field": "userMessageCount"},
            {"type": "aggregation", "aggregation": "avg", "field": "userMessageCount"},
            {"type": "aggregation", "aggregation": "max", "field": "firstMessageTime"},
            {"type": "aggregation", "aggregation": "min", "field": "firstMessageTime"},
            {"type": "aggregation", "aggregation": "count", "field": "integrationId"},
            {
                "type": "aggregation",
                "aggregation": "countDistinct",
                "field": "properties",
                "path": ["b"],
            },
            {"type": "aggregation", "aggregation": "sum", "field": "properties", "path": ["b"]},
            {"type": "aggregation", "aggregation": "max", "field": "userProperties", "path": ["a"]},
        ]
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda s: repr(s),
)
BUCKETS = st.lists(
    st.sampled_from(
        [{"type": "time", "timeUnit": unit} for unit in ("hour", "day", "week", "month")]
    ),
    max_size=1,
)
SCALAR_DOCS = st.none() | st.dictionaries(st.sampled_from(["a", "b", "0"]), SCALARS, max_size=3)


@st.composite
def scalar_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    # Grouping by a JSON value compares JSON texts on SQLite and JSONB on PostgreSQL;
    # they agree for scalars written the same way, which is what these rows hold.
    data = draw(rows())
    for row in data:
        row["properties"] = draw(SCALAR_DOCS)
        row["userProperties"] = draw(SCALAR_DOCS)
    return data


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b)
    return reference.json_equal(a, b) if not isinstance(a, dict | list) else a == b


def _canonical(rows: list[dict[str, Any]], dims: list[str]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: repr([repr(r.get(k)) for k in dims]))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=scalar_rows(),
    buckets=BUCKETS,
    dims=DIMENSIONS,
    measures=MEASURES,
    where=st.none() | FILTERS,
)
def test_grouped_queries_agree_with_the_reference(
    engine: Engine,
    data: list[dict[str, Any]],
    buckets: list[dict[str, Any]],
    dims: list[dict[str, Any]],
    measures: list[dict[str, Any]],
    where: dict[str, Any] | None,
) -> None:
    data = unique_ids(data)
    store(engine, data)
    body: dict[str, Any] = {"select": [*buckets, *measures], "groupBy": dims}
    if where is not None:
        body["where"] = where
    got = run(engine, body)
    matching = [row for row in data if where is None or reference.evaluate(where, row)]
    expected = reference.group(matching, body)
    if not dims and not buckets:
        # A global aggregate is one row even over no rows.
        expected = expected or [_empty(measures)]
    assert len(got) == len(expected)
    dim_keys = [f"firstMessageTime_{b['timeUnit']}" for b in buckets]
    dim_keys += [".".join([d["field"], *d.get("path", [])]) for d in dims]
    for g, e in zip(_canonical(got, dim_keys), _canonical(expected, dim_keys), strict=True):
        assert set(g) == set(e), (g, e)
        for key in g:
            assert _same(g[key], e[key]), (key, g, e)


def _empty(measures: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in measures:
        if m["aggregation"] in {"count", "countDistinct"}:
            out.update(reference._aggregate(m, []))
    return out


@pytest.mark.parametrize(
    "where",
    [
        pytest.param(
            {"condition": {"field": "projectId", "operator": "eq", "value": OTHER}}, id="eq"
        ),
        pytest.param(
            {"or": [{"condition": {"field": "projectId", "operator": "isNotNull"}}]}, id="or"
        ),
    ],
)
def test_no_where_reaches_another_project(engine: Engine, where: dict[str, Any]) -> None:
    store(engine, [conversation_row("c1")])
    got = run(engine, {"where": where})
    assert [r["projectId"] for r in got] == ([PROJECT] if "or" in where else [])
