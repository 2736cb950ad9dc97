"""The SQL each part of the DSL compiles to, on both dialects, pinned by snapshots.

A change here is a change to every query the server runs: review the diff of
``__snapshots__/test_compiled_sql.ambr`` like code (``pytest --snapshot-update`` rewrites
it). Every client value must appear among the parameters, never in the SQL text.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from syrupy.assertion import SnapshotAssertion

from convoscope.api import parse_body
from convoscope.query import RESOURCES, compile_query, parse_query
from convoscope.schemas import QuerySemanticThreadsRequestBody

HOSTILE = "x'); DROP TABLE conversations; --"
DIALECTS: dict[str, Dialect] = {
    "sqlite": sqlite.dialect(),
    "postgresql": postgresql.dialect(),  # type: ignore[no-untyped-call]
}

QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "raw-conversations": ("conversations", {}),
    "daily-per-type": (
        "conversations",
        {
            "select": [
                {"type": "time", "timeUnit": "day", "field": "firstMessageTime"},
                {"type": "aggregation", "aggregation": "count"},
            ],
            "groupBy": [{"field": "type"}],
            "orderBy": [{"field": "firstMessageTime_day", "direction": "desc"}],
        },
    ),
    "week-and-month-buckets": (
        "events",
        {
            "select": [
                {"type": "time", "timeUnit": "week"},
                {"type": "time", "timeUnit": "month"},
                {"type": "time", "timeUnit": "hour"},
            ]
        },
    ),
    "path-group-and-distinct": (
        "conversations",
        {
            "select": [
                {
                    "type": "aggregation",
                    "aggregation": "countDistinct",
                    "field": "userProperties",
                    "path": ["id"],
                },
                {"type": "aggregation", "aggregation": "sum", "field": "properties", "path": ["n"]},
                {"type": "aggregation", "aggregation": "max", "field": "firstMessageTime"},
            ],
            "groupBy": [{"field": "properties", "path": ["plan", "0"], "includeInSelect": False}],
        },
    ),
    "comparisons": (
        "conversations",
        {
            "select": [{"type": "field", "field": "id"}],
            "where": {
                "or": [
                    {"condition": {"field": "id", "operator": "eq", "value": HOSTILE}},
                    {"condition": {"field": "userMessageCount", "operator": "gt", "value": 2}},
                    {
                        "condition": {
                            "field": "firstMessageTime",
                            "operator": "lt",
                            "value": "2025-03-01T00:00:00.000Z",
                        }
                    },
                    {
                        "condition": {
                            "field": "properties",
                            "operator": "gte",
                            "value": {"path": ["a.b", HOSTILE], "value": 1.5},
                        }
                    },
                    {"condition": {"field": "type", "operator": "in", "value": ["openai", None]}},
                    {"condition": {"field": "integrationId", "operator": "notIn", "value": ["i"]}},
                    {"condition": {"field": "integrationId", "operator": "isNull"}},
                    {"condition": {"field": "id", "operator": "neq", "value": "x"}},
                ]
            },
        },
    ),
    "json-operators": (
        "feedback",
        {
            "select": [{"type": "field", "field": "id"}],
            "where": {
                "and": [
                    {
                        "condition": {
                            "field": "properties",
                            "operator": "jsonContains",
                            "value": {"plan": "pro", "ü": [1, {"k": True}]},
                        }
                    },
                    {
                        "condition": {
                            "field": "userProperties",
                            "operator": "jsonContainedBy",
                            "value": {"id": "u", "tags": ["a"]},
                        }
                    },
                    {"condition": {"field": "properties", "operator": "jsonHasKey", "value": "a"}},
                    {
                        "condition": {
                            "field": "properties",
                            "operator": "jsonHasAnyKey",
                            "value": ["a", "b"],
                        }
                    },
                    {
                        "condition": {
                            "field": "properties",
                            "operator": "jsonHasAllKeys",
                            "value": ["a", "b"],
                        }
                    },
                    {
                        "condition": {
                            "field": "reasons",
                            "operator": "jsonArrayContainsObject",
                            "value": {"label": "inaccurate"},
                        }
                    },
                    {"condition": {"field": "sources", "operator": "arrayContains", "value": "x"}},
                ]
            },
        },
    ),
    "thread-feedback-and-search": (
        "semantic-threads",
        {
            "select": [{"type": "field", "field": "hasPositiveFeedback"}],
            "where": {
                "condition": {"field": "hasNegativeFeedback", "operator": "eq", "value": True}
            },
            "query": "50%_off",
        },
    ),
}


@pytest.mark.parametrize("name", list(QUERIES))
@pytest.mark.parametrize("dialect_name", ["sqlite", "postgresql"])
def test_compiled_sql(name: str, dialect_name: str, snapshot: SnapshotAssertion) -> None:
    resource_name, body = QUERIES[name]
    resource = RESOURCES[resource_name]
    query = parse_query(resource, parse_body(QuerySemanticThreadsRequestBody, body))
    compiled = compile_query(query, project_id="proj_1", with_total=True)
    dialect = DIALECTS[dialect_name]
    statement = compiled.statement.compile(dialect=dialect)
    sql = str(statement)
    assert HOSTILE not in sql
    assert "proj_1" not in sql
    assert {"sql": sql, "params": statement.params} == snapshot
