"""The four query endpoints return exactly the rows, keys and types of API.md §4.7, only
ever from the caller's project."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.api.test_conversations import log
from tests.api.test_errors import assert_problem
from tests.builders import openai_conversation
from tests.conftest import ProjectKeys, make_project


async def query(client: httpx.AsyncClient, resource: str, body: Any) -> Any:
    response = await client.post(f"/query/{resource}", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    assert payload["status"] == "ok"
    assert payload["data"]["pageSize"] == 1000
    assert payload["data"]["count"] == len(payload["data"]["result"])
    return payload["data"]


def conversation(conversation_id: str, day: str, **fields: Any) -> dict[str, Any]:
    body = openai_conversation(conversation_id, createdAt=f"{day}T10:00:00.000Z", **fields)
    for i, m in enumerate(body["messages"]):
        m["id"] = f"{conversation_id}-m{i}"
        m["createdAt"] = f"{day}T10:0{i}:00.000Z"
    return body


async def seed(client: httpx.AsyncClient) -> None:
    await log(
        client,
        conversation(
            "c1",
            "2025-03-03",
            turns=2,
            properties={"plan": "pro", "seats": 3},
            userProperties={"id": "u1", "userId": 7},
        ),
    )
    await log(
        client,
        conversation("c2", "2025-03-03", properties={"plan": "free"}, userProperties={"id": "u2"}),
    )
    await log(client, conversation("c3", "2025-03-09", properties={"plan": "pro"}))


async def test_raw_conversation_rows_carry_every_base_field(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    await seed(client)
    data = await query(client, "conversations", {})
    assert data["total"] == 3
    assert [row["id"] for row in data["result"]] == ["c3", "c2", "c1"]
    assert data["result"][2] == {
        "id": "c1",
        "userMessageCount": 2,
        "organizationId": project.scope.organization_id,
        "projectId": project.scope.project_id,
        "integrationId": project.scope.integration_id,
        "firstMessageTime": "2025-03-03T10:00:00.000Z",
        "type": "openai",
        "properties": {"plan": "pro", "seats": 3},
        "userProperties": {"id": "u1", "userId": 7},
    }


async def test_conversations_per_day_and_type_newest_first(client: httpx.AsyncClient) -> None:
    await seed(client)
    data = await query(
        client,
        "conversations",
        {
            "select": [
                {"type": "time", "timeUnit": "day", "field": "firstMessageTime"},
                {"type": "aggregation", "aggregation": "count"},
            ],
            "groupBy": [{"field": "type", "includeInSelect": True}],
            "orderBy": [{"field": "firstMessageTime_day", "direction": "desc"}],
        },
    )
    assert data["result"] == [
        {"firstMessageTime_day": "2025-03-09T00:00:00.000Z", "count": 1, "type": "openai"},
        {"firstMessageTime_day": "2025-03-03T00:00:00.000Z", "count": 2, "type": "openai"},
    ]
    assert data["total"] == 2


async def test_weeks_start_on_monday_in_utc(client: httpx.AsyncClient) -> None:
    await seed(client)  # 2025-03-03 is a Monday, 2025-03-09 the Sunday of that week
    data = await query(
        client,
        "conversations",
        {
            "select": [
                {"type": "time", "timeUnit": "week"},
                {"type": "aggregation", "aggregation": "count"},
            ]
        },
    )
    assert data["result"] == [{"firstMessageTime_week": "2025-03-03T00:00:00.000Z", "count": 3}]


@pytest.mark.parametrize("resource", ["conversations", "feedback", "events", "semantic-threads"])
async def test_a_time_bucket_selected_alone_lists_the_buckets(
    client: httpx.AsyncClient, resource: str
) -> None:
    # Its SQL named no table (a 500 on every resource, found by schemathesis).
    await seed(client)
    data = await query(client, resource, {"select": [{"type": "time", "timeUnit": "month"}]})
    assert data["total"] == len(data["result"])


async def test_group_by_json_path_with_distinct_users(client: httpx.AsyncClient) -> None:
    await seed(client)
    data = await query(
        client,
        "conversations",
        {
            "select": [
                {
                    "type": "aggregation",
                    "aggregation": "countDistinct",
                    "field": "userProperties",
                    "path": ["id"],
                },
                {"type": "aggregation", "aggregation": "sum", "field": "userMessageCount"},
                {"type": "aggregation", "aggregation": "max", "field": "firstMessageTime"},
            ],
            "groupBy": [{"field": "properties", "path": ["plan"]}],
            "orderBy": [{"field": "sum_userMessageCount", "direction": "desc"}],
        },
    )
    assert data["result"] == [
        {
            "countDistinct_userProperties.id": 1,
            "sum_userMessageCount": 3,
            "max_firstMessageTime": 1741514400000,
            "properties.plan": "pro",
        },
        {
            "countDistinct_userProperties.id": 1,
            "sum_userMessageCount": 1,
            "max_firstMessageTime": 1740996000000,
            "properties.plan": "free",
        },
    ]


async def test_declared_user_id_keys_are_strings(client: httpx.AsyncClient) -> None:
    await seed(client)
    data = await query(
        client,
        "conversations",
        {
            "select": [{"type": "field", "field": "userProperties", "path": ["userId"]}],
            "where": {"condition": {"field": "id", "operator": "eq", "value": "c1"}},
        },
    )
    assert data["result"] == [{"userProperties.userId": "7"}]


async def test_aggregates_of_nothing_are_zero_or_left_out(client: httpx.AsyncClient) -> None:
    data = await query(
        client,
        "conversations",
        {
            "select": [
                {"type": "aggregation", "aggregation": "count"},
                {"type": "aggregation", "aggregation": "avg", "field": "userMessageCount"},
            ]
        },
    )
    assert data["result"] == [{"count": 0}]


async def test_semantic_threads_are_derived_on_upsert_and_removed_on_delete(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    body = conversation(
        "c1",
        "2025-03-03",
        turns=2,
        properties={"plan": "pro"},
        userProperties={"id": "u1"},
    )
    body["messages"].insert(0, {"id": "sys", "role": "system", "content": "Be brief."})
    body["messages"][0]["createdAt"] = "2025-03-03T09:59:00.000Z"
    await log(client, body)
    response = await client.post(
        "/feedback", json={"type": "negative", "messageId": "c1-m1", "id": "fb1"}
    )
    assert response.status_code == 200, response.text
    data = await query(
        client,
        "semantic-threads",
        {"orderBy": [{"field": "firstMessageTime", "direction": "asc"}]},
    )
    rows = data["result"]
    assert len(rows) == 2
    first = rows[0]
    assert first["question"] == "question 0"
    assert first["answer"] == "answer 0"
    assert first["messageIds"] == ["c1-m0", "c1-m1"]
    assert first["messagesCount"] == 2
    assert first["questionLength"] == 10
    assert first["conversationIds"] == ["c1"]
    assert first["isInitialQuestionAnswer"] is True
    assert first["hasNegativeFeedback"] is True
    assert first["hasPositiveFeedback"] is False
    assert first["projectId"] == project.scope.project_id
    assert first["firstMessageTime"] == "2025-03-03T10:00:00.000Z"
    assert first["lastMessageTime"] == "2025-03-03T10:01:00.000Z"
    assert first["properties"] == {"plan": "pro"}
    assert first["isDocumented"] is None
    assert rows[1]["isInitialQuestionAnswer"] is False
    assert rows[1]["hasNegativeFeedback"] is False
    assert rows[1]["messageIds"] == ["c1-m2", "c1-m3"]

    shorter = conversation("c1", "2025-03-03", turns=1)
    await log(client, shorter)
    data = await query(client, "semantic-threads", {})
    assert [r["messageIds"] for r in data["result"]] == [["c1-m0", "c1-m1"]]

    assert (await client.delete("/conversations/c1")).status_code == 200
    assert (await query(client, "semantic-threads", {}))["total"] == 0


async def test_semantic_thread_text_search(client: httpx.AsyncClient) -> None:
    body = openai_conversation("c1")
    body["messages"] = [
        {"role": "user", "content": "How do I ROTATE 100% of keys?"},
        {"role": "assistant", "content": "Settings."},
        {"role": "user", "content": "and billing?"},
    ]
    await log(client, body)
    data = await query(
        client,
        "semantic-threads",
        {"query": "rotate 100%", "select": [{"type": "field", "field": "question"}]},
    )
    assert data["result"] == [{"question": "How do I ROTATE 100% of keys?"}]
    data = await query(client, "semantic-threads", {"query": "_"})
    assert data["result"] == []


async def test_search_event_rows_leave_out_keys_they_lack(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/events",
        json={
            "id": "evt_88",
            "type": "search_query_submitted",
            "entityType": "search",
            "searchQuery": "rotate key",
            "createdAt": "2025-03-02T08:00:00.000Z",
            "properties": {"page": "/docs", "resultCount": 3, "nested": {"a": 1}},
            "userProperties": {"id": 55},
        },
    )
    assert response.status_code == 200, response.text
    data = await query(
        client,
        "events",
        {"where": {"condition": {"field": "eventType", "operator": "eq", "value": "search"}}},
    )
    row = data["result"][0]
    assert "messageId" not in row and "conversationId" not in row
    assert row["searchQuery"] == "rotate key"
    assert row["createdAt"] == "2025-03-02T08:00:00.000Z"
    assert row["properties"] == {"page": "/docs", "resultCount": "3", "nested": '{"a":1}'}
    assert row["userProperties"] == {"id": "55"}


async def test_queries_never_cross_projects(
    client: httpx.AsyncClient, engine: Engine, project: ProjectKeys
) -> None:
    await seed(client)
    other = make_project(engine, "globex")
    client.headers["Authorization"] = f"Bearer {other.api_key}"
    await log(client, conversation("theirs", "2025-03-03"))
    for where in (
        None,
        {"condition": {"field": "projectId", "operator": "eq", "value": project.scope.project_id}},
        {"or": [{"condition": {"field": "projectId", "operator": "isNotNull"}}]},
    ):
        data = await query(client, "conversations", {"where": where} if where else {})
        assert [row["id"] for row in data["result"]] == (
            ["theirs"] if where is None or "or" in where else []
        )


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        pytest.param(
            {"select": [{"type": "field", "field": "nope"}]},
            400,
            "select[0].field",
            id="unknown-field",
        ),
        pytest.param(
            {"select": [{"type": "bucket"}]}, 400, "select[0].type", id="unknown-selection"
        ),
        pytest.param(
            {"where": {"condition": {"field": "id", "operator": "jsonHasKey", "value": "a"}}},
            400,
            "where.condition.operator",
            id="operator-misfit",
        ),
        pytest.param(
            {
                "where": {
                    "and": [
                        {"condition": {"field": "userMessageCount", "operator": "gt", "value": "3"}}
                    ]
                }
            },
            400,
            "where.and[0].condition.value",
            id="value-misfit",
        ),
        pytest.param(
            {
                "orderBy": [{"field": "count_id", "direction": "asc"}],
                "select": [{"type": "aggregation", "aggregation": "count"}],
            },
            422,
            "orderBy[0].field",
            id="order-not-in-result",
        ),
        pytest.param(
            {"select": [{"type": "aggregation", "aggregation": "sum", "field": "type"}]},
            422,
            "select[0].field",
            id="sum-of-string",
        ),
        pytest.param({"notes": "x" * 81}, 400, "notes", id="notes-too-long"),
    ],
)
async def test_bad_queries_name_the_part_at_fault(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, field: str
) -> None:
    response = await client.post("/query/conversations", json=body)
    problem = assert_problem(response, status)
    assert problem["field"] == field


async def test_a_filter_nested_too_deep_is_refused(client: httpx.AsyncClient) -> None:
    where: dict[str, Any] = {"condition": {"field": "id", "operator": "eq", "value": "x"}}
    for _ in range(40):
        where = {"and": [where]}
    response = await client.post("/query/conversations", json={"where": where})
    problem = assert_problem(response, 400)
    assert "nest at most" in problem["detail"]


async def test_write_only_keys_cannot_query(
    app_client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    app_client.headers["Authorization"] = f"Bearer {project.web_key}"
    response = await app_client.post("/query/conversations", json={})
    assert_problem(response, 403)


async def test_feedback_with_a_given_reason_per_type(client: httpx.AsyncClient) -> None:
    body = openai_conversation("c1", turns=2)
    body["messages"][1]["id"] = "a1"
    body["messages"][3]["id"] = "a2"
    await log(client, body)
    for feedback_id, message_id, kind, labels in [
        ("f1", "a1", "negative", ["inaccurate", "outdated"]),
        ("f2", "a2", "negative", ["too long"]),
        ("f3", "a1", "positive", []),
    ]:
        reasons = [{"label": label, "details": ""} for label in labels]
        response = await client.post(
            "/feedback",
            json={"id": feedback_id, "messageId": message_id, "type": kind, "reasons": reasons},
        )
        assert response.status_code == 200, response.text
    data = await query(
        client,
        "feedback",
        {
            "select": [{"type": "aggregation", "aggregation": "count"}],
            "groupBy": [{"field": "type"}],
            "where": {
                "condition": {
                    "field": "reasons",
                    "operator": "jsonArrayContainsObject",
                    "value": {"label": "inaccurate"},
                }
            },
        },
    )
    assert data["result"] == [{"count": 1, "type": "negative"}]
