"""Exports stream every matching row as CSV (API.md §4.9): one header row, JSON objects
unpacked to one column per key (or kept as JSON text), nulls as empty cells."""

from __future__ import annotations

import csv
import io
import re

import httpx

from tests.api.test_conversations import log
from tests.api.test_errors import assert_problem
from tests.builders import openai_conversation


def rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.text)))


async def test_raw_conversation_export_unpacks_json_objects(client: httpx.AsyncClient) -> None:
    await log(
        client,
        openai_conversation(
            "c1",
            createdAt="2025-03-01T00:00:00.000Z",
            properties={"plan": "pro", "tags": ["a", "b"], "note": 'say "hi",\nbye'},
            userProperties={"id": 7},
        ),
    )
    await log(client, openai_conversation("c2", createdAt="2025-03-02T00:00:00.000Z"))
    table = rows(await client.post("/query/conversations/export", json={}))
    assert table[0] == [
        "id",
        "userMessageCount",
        "organizationId",
        "projectId",
        "integrationId",
        "firstMessageTime",
        "type",
        "properties.note",
        "properties.plan",
        "properties.tags",
        "userProperties.id",
    ]
    assert [r[0] for r in table[1:]] == ["c2", "c1"]
    c1 = dict(zip(table[0], table[2], strict=True))
    assert c1["properties.plan"] == "pro"
    assert c1["properties.tags"] == '["a","b"]'
    assert c1["properties.note"] == 'say "hi",\nbye'
    assert c1["userProperties.id"] == "7"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", c1["firstMessageTime"])
    c2 = dict(zip(table[0], table[1], strict=True))
    assert c2["properties.plan"] == "" and c2["userProperties.id"] == ""


async def test_json_mode_keeps_one_column_and_aggregates_export_like_queries(
    client: httpx.AsyncClient,
) -> None:
    await log(client, openai_conversation("c1", properties={"plan": "pro"}))
    table = rows(
        await client.post(
            "/query/conversations/export",
            json={
                "select": [
                    {"type": "field", "field": "id"},
                    {"type": "field", "field": "properties", "mode": "json"},
                ]
            },
        )
    )
    assert table == [["id", "properties"], ["c1", '{"plan":"pro"}']]
    table = rows(
        await client.post(
            "/query/conversations/export",
            json={
                "select": [{"type": "aggregation", "aggregation": "count"}],
                "groupBy": [{"field": "properties", "path": ["plan"]}],
            },
        )
    )
    assert table == [["count", "properties.plan"], ["1", "pro"]]


async def test_feedback_reasons_unpack_to_indexed_columns(client: httpx.AsyncClient) -> None:
    body = openai_conversation("c1")
    body["messages"][1]["id"] = "answer"
    await log(client, body)
    response = await client.post(
        "/feedback",
        json={
            "id": "fb1",
            "type": "negative",
            "messageId": "answer",
            "reasons": [
                {"label": "inaccurate", "details": "wrong"},
                {"label": "outdated", "details": ""},
            ],
        },
    )
    assert response.status_code == 200, response.text
    table = rows(
        await client.post(
            "/query/feedback/export",
            json={
                "select": [{"type": "field", "field": "id"}, {"type": "field", "field": "reasons"}]
            },
        )
    )
    assert table == [
        ["id", "reasons.0.details", "reasons.0.label", "reasons.1.details", "reasons.1.label"],
        ["fb1", "wrong", "inaccurate", "", "outdated"],
    ]


async def test_an_export_of_nothing_is_its_header(client: httpx.AsyncClient) -> None:
    table = rows(
        await client.post(
            "/query/semantic-threads/export",
            json={"select": [{"type": "field", "field": "question"}]},
        )
    )
    assert table == [["question"]]
    table = rows(await client.post("/query/events/export", json={}))
    assert table[0][:3] == ["id", "organizationId", "messageId"]
    assert len(table) == 1


async def test_a_bad_export_is_a_problem_not_a_csv(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/query/events/export", json={"select": [{"type": "field", "field": "nope"}]}
    )
    assert assert_problem(response, 400)["field"] == "select[0].field"


async def test_a_field_selected_twice_is_exported_as_first_asked(
    client: httpx.AsyncClient,
) -> None:
    await log(client, openai_conversation("c1", properties={"plan": "pro"}))
    select = [
        {"type": "field", "field": "properties", "mode": "json"},
        {"type": "field", "field": "properties"},
    ]
    table = rows(await client.post("/query/conversations/export", json={"select": select}))
    assert table == [["properties"], ['{"plan":"pro"}']]
