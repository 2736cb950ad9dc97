"""A person's corrections to a thread's annotations are stored and marked verified."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, select

from convoscope.store.tables import semantic_threads
from tests.api.test_conversations import log
from tests.api.test_errors import assert_problem
from tests.builders import openai_conversation
from tests.conftest import ProjectKeys


async def test_verify_sets_fields_and_marks_them(client: httpx.AsyncClient, engine: Engine) -> None:
    await log(client, openai_conversation("c1"))
    with engine.connect() as conn:
        thread_id = conn.execute(select(semantic_threads.c.id)).scalar_one()
    response = await client.post(
        f"/convoscope/semantic-threads/{thread_id}/verify",
        json={"category": "billing", "isDocumented": False, "languages": ["en"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["category"], body["isDocumented"], body["languages"]) == ("billing", False, ["en"])
    assert body["verifiedFields"] == ["category", "isDocumented", "languages"]
    assert body["areAIAnnotationsVerified"] is True


async def test_verify_refuses_unknown_fields_empty_bodies_and_unknown_threads(
    client: httpx.AsyncClient,
) -> None:
    unknown = await client.post("/convoscope/semantic-threads/x/verify", json={"colour": "red"})
    assert assert_problem(unknown, 400)["errors"][0]["field"] == "colour"
    empty = await client.post("/convoscope/semantic-threads/x/verify", json={})
    assert_problem(empty, 400)
    missing = await client.post("/convoscope/semantic-threads/x/verify", json={"category": "a"})
    assert (
        assert_problem(missing, 404)["detail"] == "no semantic thread with id 'x' in this project"
    )


async def test_only_api_keys_verify(app_client: httpx.AsyncClient, project: ProjectKeys) -> None:
    response = await app_client.post(
        "/convoscope/semantic-threads/x/verify",
        json={"category": "a"},
        headers={"Authorization": f"Bearer {project.web_key}"},
    )
    assert_problem(response, 403)
