"""Input no database can store or compare gets a 400 naming its field, and stores nothing.

Each case was a 500 once: integers past 64 bits, lone UTF-16 surrogates, dates that
leave the calendar once moved to UTC, NaN and Infinity, and JSON documents in a query so
wide or deep that SQLite could not parse the SQL made of them. Then SQL and format-string
payloads in every part of a request the server reads as a name: none is interpreted.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from convoscope.store.tables import conversations, events, feedback, messages
from tests.api.test_errors import assert_problem

BIG = "18446744073709551616"  # 2**64
JUST_PAST = "9223372036854775808"  # 2**63
LONE = "\\ud800"  # as JSON spells it


def conversation(**fields: str) -> str:
    """A conversation body with raw JSON text spliced in for the given fields."""
    extra = "".join(f', "{name}": {raw}' for name, raw in fields.items())
    return '{"id": "bad", "type": "openai", "messages": [{"role": "user", "content": "q"}]' + (
        extra + "}"
    )


def message(raw_content: str = '"q"', raw_properties: str = "null") -> str:
    return (
        '{"id": "bad", "type": "openai", "messages": [{"role": "user", "content": '
        f'{raw_content}, "properties": {raw_properties}}}]}}'
    )


def where(raw_condition: str) -> str:
    return '{"select": [{"type": "field", "field": "id"}], "where": {"condition": ' + (
        raw_condition + "}}"
    )


def deep(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


WIDE = json.dumps({f"k{i}": i for i in range(20_000)})
MANY = json.dumps(
    {
        "where": {
            "and": [
                {
                    "condition": {
                        "field": "properties",
                        "operator": "jsonContainedBy",
                        "value": {"plan": "pro", "n": i, "tags": ["a", "b"], "o": {"k": 1}},
                    }
                }
                for i in range(500)
            ]
        }
    }
)

CASES = [
    pytest.param("GET", f"/conversations?offset={JUST_PAST}", None, "offset", id="offset"),
    pytest.param("GET", f"/feedback?offset={JUST_PAST}", None, "offset", id="feedback-offset"),
    pytest.param(
        "POST",
        "/conversations",
        conversation(properties=f'{{"n": {BIG}}}'),
        "properties",
        id="property-2^64",
    ),
    pytest.param(
        "POST",
        "/conversations",
        conversation(properties=f'{{"n": [{JUST_PAST}]}}'),
        "properties",
        id="property-2^63",
    ),
    pytest.param(
        "POST",
        "/conversations",
        conversation(properties=f'{{"n": -{BIG}}}'),
        "properties",
        id="property-negative",
    ),
    pytest.param(
        "POST",
        "/conversations",
        conversation(userProperties=f'{{"n": {BIG}}}'),
        "userProperties",
        id="user-property",
    ),
    pytest.param(
        "POST",
        "/conversations",
        conversation(userProperties=f'{{"id": {BIG}}}'),
        "userProperties.id",
        id="user-id",
    ),
    pytest.param(
        "POST",
        "/conversations",
        message(raw_properties=f'{{"n": {BIG}}}'),
        "messages[0].properties",
        id="message-property",
    ),
    pytest.param(
        "POST",
        "/feedback",
        f'{{"type": "positive", "messageId": "m1", "properties": {{"n": {BIG}}}}}',
        "properties",
        id="feedback-property",
    ),
    pytest.param(
        "POST",
        "/events",
        f'{{"entityType": "search", "type": "search", "properties": {{"n": {BIG}}}}}',
        "properties",
        id="event-property",
    ),
    pytest.param(
        "POST",
        "/query/conversations",
        where(f'{{"field": "userMessageCount", "operator": "eq", "value": {JUST_PAST}}}'),
        "where.condition.value",
        id="query-value",
    ),
    pytest.param(
        "POST",
        "/query/conversations",
        where(f'{{"field": "properties", "operator": "jsonContains", "value": {{"n": {BIG}}}}}'),
        "where.condition.value.n",
        id="query-document-value",
    ),
    pytest.param(
        "POST",
        "/conversations",
        message(raw_content=f'"a{LONE}b"'),
        "messages[0].content",
        id="surrogate-content",
    ),
    pytest.param(
        "POST",
        "/conversations",
        conversation(properties=f'{{"k{LONE}": 1}}'),
        "properties.k\\ud800",
        id="surrogate-key",
    ),
    pytest.param(
        "POST",
        "/query/conversations",
        where(
            '{"field": "properties", "operator": "eq", '
            f'"value": {{"path": ["{LONE}"], "value": 1}}}}'
        ),
        "where.condition.value.path[0]",
        id="surrogate-query-path",
    ),
    pytest.param(
        "POST",
        "/conversations",
        conversation(createdAt='"0001-01-01T00:00:00+23:59"'),
        "createdAt",
        id="date-before-year-1-in-utc",
    ),
    pytest.param(
        "POST",
        "/conversations",
        conversation(updatedAt='"9999-12-31T23:59:59-23:59"'),
        "updatedAt",
        id="date-after-year-9999-in-utc",
    ),
    pytest.param(
        "POST",
        "/query/conversations",
        where(
            '{"field": "firstMessageTime", "operator": "gt", "value": "0001-01-01T00:00:00+01:00"}'
        ),
        "where.condition.value",
        id="query-date-out-of-range",
    ),
    pytest.param(
        "POST",
        "/query/conversations",
        where(f'{{"field": "properties", "operator": "jsonContains", "value": {WIDE}}}'),
        "where.condition.value",
        id="query-20000-keys",
    ),
    pytest.param(
        "POST",
        "/query/conversations",
        where(f'{{"field": "properties", "operator": "jsonContains", "value": {deep(100)}}}'),
        "where.condition.value",
        id="query-100-deep",
    ),
    pytest.param(
        "POST",
        "/query/conversations",
        MANY,
        "where.and[142].condition.value",
        id="query-500-documents",
    ),
    pytest.param(
        "POST",
        "/conversations",
        conversation(properties='{"x": NaN}'),
        "properties.x",
        id="nan",
    ),
    pytest.param(
        "POST",
        "/conversations",
        conversation(properties='{"x": [Infinity]}'),
        "properties.x[0]",
        id="infinity",
    ),
    pytest.param(
        "POST",
        "/conversations",
        conversation(userProperties='{"x": -Infinity}'),
        "userProperties.x",
        id="negative-infinity",
    ),
    pytest.param(
        "POST",
        "/conversations",
        conversation(properties='{"x": 1e400}'),
        "properties",
        id="overflowing-exponent",
    ),
    pytest.param(
        "POST",
        "/query/conversations",
        where('{"field": "userMessageCount", "operator": "eq", "value": NaN}'),
        "where.condition.value",
        id="query-nan",
    ),
]


def table_counts(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (conversations, messages, feedback, events)
        ]


@pytest.mark.parametrize(("method", "url", "body", "field"), CASES)
async def test_unstorable_input_is_a_400_naming_its_field_and_stores_nothing(
    client: httpx.AsyncClient,
    engine: Engine,
    method: str,
    url: str,
    body: str | None,
    field: str,
) -> None:
    await client.post(
        "/conversations",
        json={
            "id": "c1",
            "type": "openai",
            "messages": [{"id": "m1", "role": "user", "content": "q"}],
        },
    )
    before = table_counts(engine)
    response = await client.request(
        method, url, content=body, headers={"content-type": "application/json"}
    )
    problem = assert_problem(response, 400)
    assert problem["field"] == field, problem
    assert table_counts(engine) == before


@pytest.mark.parametrize("number", [2**63 - 1, -(2**63)], ids=["int64-max", "int64-min"])
async def test_the_largest_64_bit_integers_are_stored_and_found(
    client: httpx.AsyncClient, number: int
) -> None:
    body: dict[str, Any] = {
        "id": "c1",
        "type": "openai",
        "properties": {"n": number},
        "messages": [{"role": "user", "content": "q"}],
    }
    assert (await client.post("/conversations", json=body)).status_code == 200
    query = {
        "select": [{"type": "field", "field": "id"}],
        "where": {
            "condition": {
                "field": "properties",
                "operator": "eq",
                "value": {"path": ["n"], "value": number},
            }
        },
    }
    found = await client.post("/query/conversations", json=query)
    assert found.status_code == 200, found.text
    assert found.json()["data"]["result"] == [{"id": "c1"}]


# SQL, JSON-path and format-string payloads, placed in each part of a request that the
# server reads as a name (a field, an operator, an enum value, a parameter): none may be
# interpreted, each must be refused as what it is, a value the part does not allow.
PAYLOADS = [
    "id; DROP TABLE conversations; --",
    "' OR '1'='1",
    '" OR 1=1 --',
    "id) UNION SELECT key_hash FROM api_keys --",
    "properties->>'plan'",
    "json_extract(properties, '$.a')",
    "$.a') OR 1=1 --",
    "%s%s%s%n",
    "{0.__class__}",
    "id\x00",
    "ID",
    " id",
]
FIELD = {"type": "field", "field": "id"}


def _query(part: str, payload: str) -> dict[str, Any]:
    """A query with ``payload`` in ``part``, everything else valid."""
    condition = {"field": "type", "operator": "eq", "value": "openai"}
    bodies: dict[str, dict[str, Any]] = {
        "select[0].field": {"select": [{"type": "field", "field": payload}]},
        "select[0].aggregation": {"select": [{"type": "aggregation", "aggregation": payload}]},
        "select[0].timeUnit": {"select": [{"type": "time", "timeUnit": payload}]},
        "select[0].type": {"select": [{"type": payload, "field": "id"}]},
        "groupBy[0].field": {"select": [FIELD], "groupBy": [{"field": payload}]},
        "orderBy[0].field": {"select": [FIELD],
                             "orderBy": [{"field": payload, "direction": "asc"}]},
        "orderBy[0].direction": {"select": [FIELD],
                                 "orderBy": [{"field": "id", "direction": payload}]},
        "where.condition.field": {"where": {"condition": {**condition, "field": payload}}},
        "where.condition.operator": {"where": {"condition": {**condition, "operator": payload}}},
        "where.condition.value": {"where": {"condition": {
            "field": "firstMessageTime", "operator": "gt", "value": payload}}},
    }  # fmt: skip
    return bodies[part]


INJECTION_SLOTS = [
    *(
        pytest.param("POST", "/query/conversations", part, part, id=part)
        for part in (
            "select[0].field",
            "select[0].aggregation",
            "select[0].timeUnit",
            "select[0].type",
            "groupBy[0].field",
            "orderBy[0].field",
            "orderBy[0].direction",
            "where.condition.field",
            "where.condition.operator",
            "where.condition.value",
        )
    ),
    pytest.param("POST", "/query/property-keys", "field", "field", id="property-keys-field"),
    pytest.param("POST", "/query/property-keys", "views", "views[0]", id="property-keys-view"),
    pytest.param("POST", "/conversations", "type", "type", id="conversation-type"),
    pytest.param("POST", "/conversations", "visibility", "visibility", id="visibility"),
    pytest.param("POST", "/conversations", "createdAt", "createdAt", id="created-at"),
    pytest.param("POST", "/feedback", "type", "type", id="feedback-type"),
    pytest.param("POST", "/events", "entityType", "entityType", id="event-entity-type"),
    pytest.param("GET", "/conversations", "limit", "limit", id="list-limit"),
    pytest.param("GET", "/feedback", "offset", "offset", id="feedback-offset"),
    pytest.param("GET", "/query/top-search-queries", "after", "after", id="search-report-after"),
]


def _injected(method: str, url: str, part: str, payload: str) -> dict[str, Any] | None:
    """The JSON body that carries ``payload`` in ``part`` of a request to ``url``; None
    for a GET, which carries it in the query string."""
    if method == "GET":
        return None
    if url.startswith("/query/conversations"):
        return _query(part, payload)
    if url == "/query/property-keys":
        return (
            {"field": payload} if part == "field" else {"field": "properties", "views": [payload]}
        )
    if url == "/conversations":
        return {"id": "c2", "type": "openai", "messages": [{"role": "user", "content": "q"}],
                part: payload}  # fmt: skip
    if url == "/feedback":
        return {"type": payload, "messageId": "m1"}
    if url == "/events":
        return {"entityType": payload, "type": "copied", "conversationId": "c1"}
    return None


@pytest.mark.parametrize(("method", "url", "part", "field"), INJECTION_SLOTS)
async def test_injected_names_are_refused_naming_their_field_and_store_nothing(
    client: httpx.AsyncClient, engine: Engine, method: str, url: str, part: str, field: str
) -> None:
    message = {"id": "m1", "role": "user", "content": "q"}
    await client.post("/conversations", json={"id": "c1", "type": "openai", "messages": [message]})
    before = table_counts(engine)
    wrong: list[str] = []
    for payload in PAYLOADS:
        body = _injected(method, url, part, payload)
        params = None if body is not None else {part: payload}
        response = await client.request(method, url, json=body, params=params)
        if response.status_code not in (400, 422):
            wrong.append(f"{payload!r}: {response.status_code} {response.text[:300]}")
        elif response.json().get("field") != field:
            wrong.append(f"{payload!r}: field {response.json().get('field')!r}, not {field!r}")
    assert wrong == [], "\n".join(wrong)
    assert table_counts(engine) == before
