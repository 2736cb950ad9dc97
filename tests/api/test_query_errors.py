# ruff: noqa: E501 - the exact messages are the point, unbroken.
"""A corpus of bad queries, each with its exact problem+json answer: the status (400 for a
query that does not fit the DSL, 422 for one that cannot produce its result), the part of
the body at fault in ``field``, and a detail that says what to change.

A generated corpus of arbitrary bodies then checks that nothing a client sends makes the
compiler fail in any other way, and that no message leaks internals.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from convoscope.api import parse_body
from convoscope.errors import QueryError, UnanswerableQuery
from convoscope.query import RESOURCES, compile_query, parse_query
from convoscope.schemas import QuerySemanticThreadsRequestBody
from tests.api.test_errors import LEAKED_INTERNALS, assert_problem

CORPUS = [
    pytest.param(
        "conversations",
        {"select": {"type": "field"}},
        400,
        "select",
        "select: must be an array",
        id="select-not-a-list",
    ),
    pytest.param(
        "conversations",
        {"select": [{"field": "id"}]},
        400,
        "select[0].type",
        "select[0].type: must be one of 'field', 'aggregation', 'time'",
        id="selection-without-type",
    ),
    pytest.param(
        "conversations",
        {"select": [{"type": "bucket"}]},
        400,
        "select[0].type",
        "select[0].type: must be one of 'field', 'aggregation', 'time'",
        id="unknown-selection-type",
    ),
    pytest.param(
        "conversations",
        {"select": [{"type": "field", "field": "nope"}]},
        400,
        "select[0].field",
        "select[0].field: must be one of the conversations fields (id, userMessageCount, organizationId, projectId, integrationId, firstMessageTime, type, properties, userProperties); got 'nope'",
        id="unknown-field",
    ),
    pytest.param(
        "conversations",
        {"select": [{"type": "aggregation", "aggregation": "median"}]},
        400,
        "select[0].aggregation",
        "select[0].aggregation: must be 'sum', 'count', 'countDistinct', 'avg', 'min' or 'max'",
        id="unknown-aggregation",
    ),
    pytest.param(
        "conversations",
        {"select": [{"type": "time", "timeUnit": "year"}]},
        400,
        "select[0].timeUnit",
        "select[0].timeUnit: must be 'hour', 'day', 'week' or 'month'",
        id="unknown-time-unit",
    ),
    pytest.param(
        "conversations",
        {"select": [{"type": "time", "timeUnit": "day", "field": "type"}]},
        400,
        "select[0].field",
        "select[0].field: time buckets need a timestamp field; type is a string",
        id="time-bucket-on-a-string",
    ),
    pytest.param(
        "conversations",
        {"select": [{"type": "field", "field": "id", "path": ["a"]}]},
        400,
        "select[0].path",
        "select[0].path: a path applies only to JSON fields; id is a string",
        id="path-on-a-string",
    ),
    pytest.param(
        "conversations",
        {"select": [{"type": "field", "field": "properties", "path": ["a"], "mode": "json"}]},
        400,
        "select[0].mode",
        "select[0].mode: mode json takes the whole field; leave out path",
        id="json-mode-with-path",
    ),
    pytest.param(
        "conversations",
        {"select": [{"type": "aggregation", "aggregation": "sum", "field": "type"}]},
        422,
        "select[0].field",
        "select[0].field: sum of type cannot produce a number; type is a string",
        id="sum-of-a-string",
    ),
    pytest.param(
        "conversations",
        {"select": [{"type": "aggregation", "aggregation": "avg"}]},
        422,
        "select[0].field",
        "select[0].field: avg needs a field to aggregate",
        id="avg-without-field",
    ),
    pytest.param(
        "conversations",
        {"groupBy": [{"field": "nope"}]},
        400,
        "groupBy[0].field",
        "groupBy[0].field: must be one of the conversations fields (id, userMessageCount, organizationId, projectId, integrationId, firstMessageTime, type, properties, userProperties); got 'nope'",
        id="group-by-unknown",
    ),
    pytest.param(
        "conversations",
        {"where": []},
        400,
        "where",
        "where: must be a JSON object",
        id="where-not-an-object",
    ),
    pytest.param(
        "conversations",
        {"where": {"condition": {"field": "id", "operator": "eq", "value": "x"}, "and": []}},
        400,
        "where",
        "where: must have exactly one of condition, and, or; got condition, and",
        id="where-two-kinds",
    ),
    pytest.param(
        "conversations",
        {"where": {}},
        400,
        "where",
        "where: must have exactly one of condition, and, or; got none",
        id="where-empty-object",
    ),
    pytest.param(
        "conversations",
        {"where": {"and": {"condition": {"field": "id", "operator": "eq", "value": "x"}}}},
        400,
        "where.and",
        "where.and: must be an array of filters",
        id="and-not-a-list",
    ),
    pytest.param(
        "conversations",
        {"where": {"condition": {"field": "id", "operator": "like", "value": "x"}}},
        400,
        "where.condition.operator",
        "where.condition.operator: must be one of eq, neq, gt, gte, lt, lte, in, notIn, arrayContains, jsonContains, jsonContainedBy, jsonHasKey, jsonArrayContainsObject, jsonHasAnyKey, jsonHasAllKeys, isNull, isNotNull; got 'like'",
        id="unknown-operator",
    ),
    pytest.param(
        "conversations",
        {"where": {"condition": {"field": "id", "operator": "jsonHasKey", "value": "a"}}},
        400,
        "where.condition.operator",
        "where.condition.operator: jsonHasKey does not apply to id (a string)",
        id="operator-misfit",
    ),
    pytest.param(
        "semantic-threads",
        {"where": {"condition": {"field": "isDocumented", "operator": "gt", "value": True}}},
        400,
        "where.condition.operator",
        "where.condition.operator: gt does not apply to isDocumented (a boolean)",
        id="gt-on-a-boolean",
    ),
    pytest.param(
        "conversations",
        {"where": {"condition": {"field": "properties", "operator": "eq", "value": "x"}}},
        400,
        "where.condition.operator",
        "where.condition.operator: eq does not apply to properties (a JSON object); give a {path, value} to test a value inside it",
        id="compare-json-without-path",
    ),
    pytest.param(
        "conversations",
        {"where": {"condition": {"field": "userMessageCount", "operator": "eq", "value": "3"}}},
        400,
        "where.condition.value",
        "where.condition.value: userMessageCount is compared with a number; got '3'",
        id="number-as-string",
    ),
    pytest.param(
        "conversations",
        {
            "where": {
                "condition": {"field": "firstMessageTime", "operator": "gte", "value": "yesterday"}
            }
        },
        400,
        "where.condition.value",
        "where.condition.value: must be an ISO-8601 date-time with a time zone, such as 2025-03-01T09:30:00.000Z; got 'yesterday'",
        id="bad-timestamp",
    ),
    pytest.param(
        "conversations",
        {"where": {"condition": {"field": "id", "operator": "in", "value": "x"}}},
        400,
        "where.condition.value",
        "where.condition.value: must be an array of values",
        id="in-not-a-list",
    ),
    pytest.param(
        "conversations",
        {"where": {"condition": {"field": "id", "operator": "in", "value": ["x", 3]}}},
        400,
        "where.condition.value[1]",
        "where.condition.value[1]: id is compared with a string; got 3",
        id="in-item-wrong-type",
    ),
    pytest.param(
        "conversations",
        {"where": {"condition": {"field": "id", "operator": "eq"}}},
        400,
        "where.condition.value",
        "where.condition.value: eq needs a value",
        id="missing-value",
    ),
    pytest.param(
        "conversations",
        {"where": {"condition": {"field": "properties", "operator": "jsonHasAnyKey", "value": []}}},
        400,
        "where.condition.value",
        "where.condition.value: must be a non-empty array of keys",
        id="has-any-key-empty",
    ),
    pytest.param(
        "conversations",
        {"where": {"condition": {"field": "properties", "operator": "jsonContains", "value": "x"}}},
        400,
        "where.condition.value",
        "where.condition.value: must be a JSON object or array",
        id="contains-a-string",
    ),
    pytest.param(
        "conversations",
        {
            "where": {
                "condition": {"field": "id", "operator": "eq", "value": {"path": ["a"], "value": 1}}
            }
        },
        400,
        "where.condition.value.path",
        "where.condition.value.path: a path applies only to JSON fields; id is a string",
        id="path-on-a-string-field",
    ),
    pytest.param(
        "semantic-threads",
        {
            "where": {
                "condition": {
                    "field": "properties",
                    "operator": "lt",
                    "value": {"path": ["a"], "value": True},
                }
            }
        },
        400,
        "where.condition.value.value",
        "where.condition.value.value: booleans have no order; use eq or neq",
        id="ordered-boolean-on-path",
    ),
    pytest.param(
        "conversations",
        {"orderBy": [{"field": "nope", "direction": "asc"}]},
        400,
        "orderBy[0].field",
        "orderBy[0].field: 'nope' is not an order-by name of conversations",
        id="order-by-unknown",
    ),
    pytest.param(
        "conversations",
        {
            "select": [{"type": "aggregation", "aggregation": "count"}],
            "orderBy": [{"field": "count_id", "direction": "asc"}],
        },
        422,
        "orderBy[0].field",
        "orderBy[0].field: 'count_id' is not in the result; order by one of count",
        id="order-by-not-in-result",
    ),
    pytest.param(
        "conversations",
        {"orderBy": [{"field": "id", "direction": "up"}]},
        400,
        "orderBy[0].direction",
        "orderBy[0].direction: must be 'asc' or 'desc'",
        id="order-direction",
    ),
    pytest.param(
        "conversations",
        {
            "notes": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        },
        400,
        "notes",
        "notes: must have at most 80 characters",
        id="notes-too-long",
    ),
]


@pytest.mark.parametrize(("resource", "body", "status", "field", "detail"), CORPUS)
async def test_bad_query_gets_its_exact_problem(
    client: httpx.AsyncClient,
    resource: str,
    body: dict[str, Any],
    status: int,
    field: str,
    detail: str,
) -> None:
    response = await client.post(f"/query/{resource}", json=body)
    problem = assert_problem(response, status)
    code = {400: "bad_request", 422: "unprocessable_entity"}[status]
    title = {400: "Bad Request", 422: "Unprocessable Entity"}[status]
    assert problem == {
        "title": title,
        "status": status,
        "detail": detail,
        "instance": f"/query/{resource}",
        "requestId": response.headers["x-request-id"],
        "code": code,
        "error": {"code": code, "message": detail if len(detail) <= 100 else detail[:97] + "..."},
        "field": field,
    }


NAMES = st.sampled_from(
    [
        "id",
        "type",
        "properties",
        "userProperties",
        "firstMessageTime",
        "isDocumented",
        "messageIds",
        "reasons",
        "count_id",
        "id_day",
        "nope",
        "",
    ]
)
LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5) | NAMES
JSON = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "field",
                    "path",
                    "value",
                    "operator",
                    "condition",
                    "and",
                    "or",
                    "aggregation",
                    "timeUnit",
                    "mode",
                    "includeInSelect",
                    "direction",
                    "x",
                ]
            )
            | st.text(max_size=3),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
BODIES = st.fixed_dictionaries(
    {},
    optional={
        "select": JSON,
        "groupBy": JSON,
        "where": JSON,
        "orderBy": JSON,
        "notes": JSON,
        "query": JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(resource=st.sampled_from(sorted(RESOURCES)), body=BODIES)
def test_no_body_breaks_the_compiler(resource: str, body: dict[str, Any]) -> None:
    try:
        query = parse_query(RESOURCES[resource], parse_body(QuerySemanticThreadsRequestBody, body))
    except (QueryError, UnanswerableQuery) as err:
        assert err.field, err.detail
        assert not any(leak in err.detail for leak in LEAKED_INTERNALS), err.detail
        return
    compiled = compile_query(query, project_id="p", with_total=True)
    for dialect in (sqlite.dialect(), postgresql.dialect()):  # type: ignore[no-untyped-call]
        compiled.statement.compile(dialect=dialect)
