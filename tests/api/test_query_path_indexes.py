"""A path index made while the server runs serves its next query and export, with the
same rows as before it existed."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from convoscope.app import create_app
from convoscope.indexing import path_indexes
from convoscope.settings import Settings
from tests.api.test_conversations import log
from tests.api.test_query_exports import rows
from tests.builders import openai_conversation
from tests.conftest import make_project

BY_COMPANY = {
    "select": [{"type": "aggregation", "aggregation": "count"}],
    "groupBy": [{"field": "userProperties", "path": ["company"]}],
    "orderBy": [
        {"field": "count", "direction": "desc"},
        {"field": "userProperties.company", "direction": "asc"},
    ],
}


async def test_queries_and_exports_agree_before_and_after_indexing(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    for i, company in enumerate(["acme", "acme", "Initech", None]):
        await log(client, openai_conversation(f"c{i}", userProperties={"company": company}))

    async def both() -> tuple[object, list[list[str]]]:
        query = await client.post("/query/conversations", json=BY_COMPANY)
        assert query.status_code == 200, query.text
        export = await client.post("/query/conversations/export", json=BY_COMPANY)
        return query.json()["data"], rows(export)

    before = await both()
    path_indexes.create(engine, path_indexes.define("conversations", "userProperties", ["company"]))
    # Logged after the index exists: counted through it.
    await log(client, openai_conversation("c9", userProperties={"company": "Initech"}))
    after = await both()

    assert before[0] == {
        "result": [
            {"count": 2, "userProperties.company": "acme"},
            {"count": 1, "userProperties.company": "Initech"},
            {"count": 1, "userProperties.company": None},
        ],
        "total": 3,
        "pageSize": 1000,
        "count": 3,
    }
    assert after[0]["result"][:2] == [  # type: ignore[index]
        {"count": 2, "userProperties.company": "Initech"},
        {"count": 2, "userProperties.company": "acme"},
    ]
    header = ["count", "userProperties.company"]
    assert after[1] == [header, ["2", "Initech"], ["2", "acme"], ["1", ""]]


async def test_a_slow_query_gets_its_path_indexed(settings: Settings, engine: Engine) -> None:
    # Every query counts as slow here.
    app = create_app(settings.model_copy(update={"auto_index_seconds": 0.0}))
    project = make_project(engine, "indexing")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {project.api_key}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://convoscope", headers=headers
        ) as client:
            await log(client, openai_conversation("c1", userProperties={"company": "acme"}))
            first = await client.post("/query/conversations", json=BY_COMPANY)
            assert first.status_code == 200, first.text
            await app.state.path_advisor.settle()
            made = [(i.label, i.created_by) for i in path_indexes.list_indexes(engine)]
            assert made == [("conversations.userProperties.company", "server")]
            again = await client.post("/query/conversations", json=BY_COMPANY)
            assert again.json() == first.json()
