"""Keys reach only their own project, and write-only keys read nothing (API.md §1.4)."""

from __future__ import annotations

import httpx

from tests.builders import openai_conversation
from tests.conftest import ProjectKeys


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_web_key_may_log_get_and_delete_but_not_list(
    app_client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    web = bearer(project.web_key)
    logged = await app_client.post("/conversations", json=openai_conversation("c1"), headers=web)
    assert logged.status_code == 200
    assert logged.json()["integrationId"] != project.scope.integration_id
    assert (await app_client.get("/conversations/c1", headers=web)).status_code == 200
    listed = await app_client.get("/conversations", headers=web)
    assert listed.status_code == 403
    assert listed.headers["content-type"] == "application/problem+json"
    assert listed.json()["detail"] == "a web key may only send data; reading it needs an api key"
    external = await app_client.get("/conversations/external/x", headers=web)
    assert external.status_code == 403
    assert (await app_client.delete("/conversations/c1", headers=web)).status_code == 200


async def test_a_key_never_reaches_another_projects_conversations(
    app_client: httpx.AsyncClient, project: ProjectKeys, other_project: ProjectKeys
) -> None:
    mine = bearer(project.api_key)
    theirs = bearer(other_project.api_key)
    await app_client.post(
        "/conversations", json=openai_conversation("c1", externalId="e1"), headers=mine
    )
    assert (await app_client.get("/conversations/c1", headers=theirs)).status_code == 404
    assert (await app_client.get("/conversations/external/e1", headers=theirs)).status_code == 404
    assert (await app_client.delete("/conversations/c1", headers=theirs)).status_code == 404
    listed = (await app_client.get("/conversations", headers=theirs)).json()
    assert (listed["total"], listed["conversations"]) == (0, [])
    # The same id in the other project is a conversation of its own.
    await app_client.post("/conversations", json=openai_conversation("c1"), headers=theirs)
    assert (await app_client.get("/conversations", headers=mine)).json()["total"] == 1
    assert (await app_client.get("/conversations/c1", headers=mine)).status_code == 200


async def test_missing_malformed_and_unknown_keys_get_401(
    app_client: httpx.AsyncClient,
) -> None:
    cases = {
        None: "send an API key as 'Authorization: Bearer <key>'",
        "Basic abc": "the Authorization header must be 'Bearer <key>'",
        "Bearer cvs_nope": "the API key is unknown or has been revoked",
    }
    for header, detail in cases.items():
        headers = {"Authorization": header} if header else {}
        response = await app_client.get("/conversations", headers=headers)
        assert response.status_code == 401
        assert response.json()["detail"] == detail
        assert response.json()["code"] == "unauthorized"


async def test_the_bearer_scheme_is_case_insensitive(
    app_client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    headers = {"Authorization": f"bearer {project.api_key}"}
    assert (await app_client.get("/conversations", headers=headers)).status_code == 200
