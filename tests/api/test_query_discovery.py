"""Property keys and values, top search queries and weekly search users: the shapes the
SDK checks (strings where it wants strings), confined to the caller's project."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Engine

from tests.api.test_errors import assert_problem
from tests.builders import openai_conversation
from tests.conftest import ProjectKeys, make_project


async def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


async def seed(client: httpx.AsyncClient) -> None:
    for i, (plan, user) in enumerate([("pro", 1), ("pro", "u2"), ("free", "u3"), (3, "u4")]):
        body = openai_conversation(
            f"c{i}", properties={"plan": plan, f"only{i}": True}, userProperties={"id": user}
        )
        await ok(await client.post("/conversations", json=body))


async def search(client: httpx.AsyncClient, query: str, at: str, user: Any) -> None:
    body = {
        "type": "search_query_submitted",
        "entityType": "search",
        "searchQuery": query,
        "createdAt": at,
        "userProperties": user,
    }
    await ok(await client.post("/events", json=body))


async def test_property_keys_are_sorted_and_distinct(client: httpx.AsyncClient) -> None:
    await seed(client)
    data = await ok(await client.post("/query/property-keys", json={"field": "properties"}))
    assert data == {"results": ["only0", "only1", "only2", "only3", "plan"]}
    data = await ok(
        await client.post(
            "/query/property-keys",
            json={
                "field": "userProperties",
                "views": ["conversations_view"],
                "where": {"condition": {"field": "id", "operator": "eq", "value": "c0"}},
            },
        )
    )
    assert data == {"results": ["id"]}


async def test_a_where_on_a_field_a_view_lacks_leaves_the_view_out(
    client: httpx.AsyncClient,
) -> None:
    await seed(client)
    where = {"condition": {"field": "userMessageCount", "operator": "gte", "value": 1}}
    data = await ok(
        await client.post("/query/property-keys", json={"field": "properties", "where": where})
    )
    assert data["results"] == ["only0", "only1", "only2", "only3", "plan"]


async def test_property_values_are_strings_most_frequent_first(
    client: httpx.AsyncClient,
) -> None:
    await seed(client)
    data = await ok(
        await client.post(
            "/query/property-values", json={"field": "properties", "key": "plan", "limit": 100}
        )
    )
    assert data == {"results": ["pro", "3", "free"]}
    data = await ok(
        await client.post(
            "/query/property-values", json={"field": "userProperties", "key": "id", "limit": 2}
        )
    )
    assert data == {"results": ["1", "u2"]}


async def test_property_lookups_need_a_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/query/property-keys", content=b"", headers={"content-type": "application/json"}
    )
    assert assert_problem(response, 400)["field"] == "field"
    response = await client.post("/query/property-values", json={"field": "properties"})
    assert assert_problem(response, 400)["field"] == "key"


async def test_top_search_queries_count_as_strings(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    await search(client, "rotate key", "2025-02-24T10:00:00.000Z", {"id": "a"})
    await search(client, "rotate key", "2025-03-02T23:59:59.999Z", {"id": "b"})
    await search(client, "billing", "2025-03-03T00:00:00.000Z", {"userId": 7})
    await search(client, "billing", "2025-03-04T00:00:00.000Z", {"userId": 7})
    await search(client, "ask", "2025-03-04T00:00:00.000Z", None)
    data = await ok(await client.get("/query/top-search-queries"))
    assert data == {
        "data": {
            "result": [
                {"search_query": "billing", "count": "2"},
                {"search_query": "rotate key", "count": "2"},
                {"search_query": "ask", "count": "1"},
            ],
            "total": 3,
        }
    }
    data = await ok(
        await client.get(
            "/query/top-search-queries",
            params={"after": "2025-03-03T00:00:00.000Z", "project_id": project.scope.project_id},
        )
    )
    assert data["data"]["result"] == [
        {"search_query": "billing", "count": "2"},
        {"search_query": "ask", "count": "1"},
    ]
    data = await ok(await client.get("/query/weekly-search-users"))
    assert data == {
        "data": {
            "result": [
                {"week": "2025-02-24T00:00:00.000Z", "unique_users": "2"},
                {"week": "2025-03-03T00:00:00.000Z", "unique_users": "1"},
            ],
            "total": 2,
        }
    }
    data = await ok(await client.get("/query/weekly-search-users", params={"after": "2025-03-01"}))
    assert data["data"]["result"] == [
        {"week": "2025-02-24T00:00:00.000Z", "unique_users": "1"},
        {"week": "2025-03-03T00:00:00.000Z", "unique_users": "1"},
    ]


async def test_search_reports_refuse_another_project_and_bad_dates(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    other = make_project(engine, "globex")
    for path in ("/query/top-search-queries", "/query/weekly-search-users"):
        response = await client.get(path, params={"project_id": other.scope.project_id})
        assert_problem(response, 403)
        response = await client.get(path, params={"after": "last tuesday"})
        assert assert_problem(response, 400)["field"] == "after"
