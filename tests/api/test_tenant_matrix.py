"""Every operation of the OpenAPI document, sent by everyone who is not the project's api
key: another project's api key, the project's own web key, no key and a revoked key.

Each gets the status API.md §1.4 gives it, no answer carries anything of the project
that the request did not itself contain, and (but for the web key, which may write and
fetch by id) the project's data is exactly as it was before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from convoscope.auth import KeyType, display_prefix, generate_key, hash_key
from convoscope.store import keys as key_store
from tests.conftest import ProjectKeys

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SECRET = "acme-secret"
CONV, VICTIM, EXTERNAL = f"{SECRET}-conv", f"{SECRET}-victim", f"{SECRET}-ext"
ANSWER, FEEDBACK, USER = f"{SECRET}-m2", f"{SECRET}-fb", f"{SECRET}-user"

# What each operation is sent: the project's own ids, so a key that reached across
# projects would find something. The upsert omits properties, which an upsert keeps.
REQUESTS: dict[str, tuple[str, str, Any]] = {
    "healthz": ("GET", "/healthz", None),
    "getAllConversation": ("GET", "/conversations", None),
    "getConversationByExternalId": ("GET", f"/conversations/external/{EXTERNAL}", None),
    "getConversation": ("GET", f"/conversations/{CONV}", None),
    "deleteConversation": ("DELETE", f"/conversations/{VICTIM}", None),
    "getAllFeedback": ("GET", "/feedback", None),
    "getFeedbackById": ("GET", f"/feedback/{FEEDBACK}", None),
    "deleteFeedbackById": ("DELETE", f"/feedback/{FEEDBACK}", None),
    "queryConversations": ("POST", "/query/conversations", {}),
    "queryFeedback": ("POST", "/query/feedback", {}),
    "queryEvents": ("POST", "/query/events", {}),
    "querySemanticThreads": ("POST", "/query/semantic-threads", {}),
    "exportConversationsQueryResults": ("POST", "/query/conversations/export", {}),
    "exportFeedbackQueryResults": ("POST", "/query/feedback/export", {}),
    "exportEventsQueryResults": ("POST", "/query/events/export", {}),
    "exportSemanticThreadsQueryResults": ("POST", "/query/semantic-threads/export", {}),
    "queryPropertyKeys": ("POST", "/query/property-keys", {"field": "properties"}),
    "queryPropertyValues": (
        "POST",
        "/query/property-values",
        {"field": "properties", "key": "plan"},
    ),
    "topSearchQueries": ("GET", "/query/top-search-queries?project_id={project}", None),
    "weeklySearchUsers": ("GET", "/query/weekly-search-users?project_id={project}", None),
    "verifySemanticThread": (
        "POST",
        "/convoscope/semantic-threads/{thread}/verify",
        {"category": "hijacked"},
    ),
    "getPrivacySettings": ("GET", "/convoscope/privacy/settings", None),
    "setPrivacySettings": ("PUT", "/convoscope/privacy/settings", {"retentionDays": 1}),
    "forgetUser": ("POST", "/convoscope/privacy/forget", {"userId": USER}),
    **{
        operation_id: ("GET", path.replace("{conversation_id}", CONV) + "?project={project}", None)
        for operation_id, path in (
            ("dashboardConversations", "/dashboard/api/conversations"),
            ("dashboardConversationsCsv", "/dashboard/api/conversations.csv"),
            ("dashboardConversation", "/dashboard/api/conversations/{conversation_id}"),
            ("dashboardGaps", "/dashboard/api/gaps"),
            ("dashboardGapsCsv", "/dashboard/api/gaps.csv"),
            ("dashboardOverviewCards", "/dashboard/api/overview/cards"),
            ("dashboardTopCategories", "/dashboard/api/overview/categories"),
            ("dashboardFeedbackPerDay", "/dashboard/api/overview/feedback"),
            ("dashboardLatestNegativeFeedback", "/dashboard/api/overview/negative"),
            ("dashboardSentimentMix", "/dashboard/api/overview/sentiment"),
            ("dashboardConversationsOverTime", "/dashboard/api/overview/volume"),
            ("dashboardSearch", "/dashboard/api/search"),
            ("dashboardTopics", "/dashboard/api/topics"),
        )
    },
    # The writes last: what another project's key writes lands in its own project, where
    # its later reads would rightly find it.
    "exportTraces": ("POST", "/v1/traces", {"resourceSpans": []}),
    "logFeedback": ("POST", "/feedback", {"type": "negative", "messageId": ANSWER}),
    "logEvent": (
        "POST",
        "/events",
        {"entityType": "conversation", "type": "copied", "conversationId": CONV},
    ),
    "logConversation": (
        "POST",
        "/conversations",
        {"id": CONV, "type": "openai", "messages": [{"role": "user", "content": "hi"}]},
    ),
}

# API.md §1.4: a web key logs, and gets or deletes a conversation by id; nothing else.
WEB_KEY_MAY = {"logConversation", "getConversation", "deleteConversation", "logEvent",
               "logFeedback", "exportTraces"}  # fmt: skip
# Another project's key finds none of these ids, and its writes land in its own project.
NOT_FOUND = {"getConversationByExternalId", "getConversation", "deleteConversation",
             "getFeedbackById", "deleteFeedbackById", "verifySemanticThread"}  # fmt: skip
FORBIDDEN_TO_OTHERS = {"topSearchQueries", "weeklySearchUsers"}  # project_id names ours


def expected_status(identity: str, operation_id: str) -> int:
    if operation_id == "healthz":
        return 200
    if operation_id.startswith("dashboard") or identity in ("none", "revoked"):
        return 401  # the dashboard wants a session, which no key is
    if identity == "web":
        return 200 if operation_id in WEB_KEY_MAY else 403
    if operation_id in NOT_FOUND:
        return 404
    if operation_id in FORBIDDEN_TO_OTHERS:
        return 403
    return 422 if operation_id == "logFeedback" else 200  # no such message in its project


def operations() -> list[str]:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return [op["operationId"] for ops in document["paths"].values() for op in ops.values()]


def test_the_matrix_sends_every_operation_of_the_document() -> None:
    assert sorted(operations()) == sorted(REQUESTS)


@dataclass(frozen=True)
class Seeded:
    thread_id: str
    markers: tuple[str, ...]


async def seed(client: httpx.AsyncClient, project: ProjectKeys) -> Seeded:
    """The project's data, each piece carrying a marker no other project's answer may hold."""
    for cid, external in ((CONV, EXTERNAL), (VICTIM, None)):
        body: dict[str, Any] = {
            "id": cid,
            "type": "openai",
            "properties": {"plan": f"{SECRET}-plan"},
            "userProperties": {"id": USER},
            "messages": [
                {"id": f"{cid}-m1", "role": "user", "content": f"{SECRET} question"},
                {"id": ANSWER if cid == CONV else f"{cid}-m2", "role": "assistant",
                 "content": f"{SECRET} answer"},
            ],
        }  # fmt: skip
        if external:
            body["externalId"] = external
        assert (await client.post("/conversations", json=body)).status_code == 200
    feedback = {"id": FEEDBACK, "type": "positive", "messageId": ANSWER,
                "details": f"{SECRET} details", "userProperties": {"id": USER}}  # fmt: skip
    assert (await client.post("/feedback", json=feedback)).status_code == 200
    search = {"entityType": "search", "type": "search", "searchQuery": f"{SECRET} search",
              "userProperties": {"id": USER}}  # fmt: skip
    assert (await client.post("/events", json=search)).status_code == 200
    privacy = {"retentionDays": 400, "userIdentifiers": [f"{SECRET}-identifier"]}
    assert (await client.put("/convoscope/privacy/settings", json=privacy)).status_code == 200
    threads = await client.post(
        "/query/semantic-threads", json={"select": [{"type": "field", "field": "id"}]}
    )
    thread_id = threads.json()["data"]["result"][0]["id"]
    scope = project.scope
    assert scope.integration_id is not None
    return Seeded(thread_id, (SECRET, scope.project_id, scope.integration_id, thread_id))


async def snapshot(client: httpx.AsyncClient) -> list[Any]:
    """Everything the project's api key can read, to compare before and after."""
    reads = [client.get("/conversations"), client.get(f"/conversations/{CONV}"),
             client.get(f"/conversations/{VICTIM}"), client.get("/feedback"),
             client.get("/convoscope/privacy/settings")]  # fmt: skip
    out = [(await r).json() for r in reads]
    for view, field in (("events", "id"), ("semantic-threads", "category")):
        query = {"select": [{"type": "field", "field": field}]}
        out.append((await client.post(f"/query/{view}", json=query)).json())
    return out


def identity_headers(
    identity: str, project: ProjectKeys, other: ProjectKeys, revoked: str
) -> dict[str, str]:
    keys = {"other": other.api_key, "web": project.web_key, "revoked": revoked}
    return {"Authorization": f"Bearer {keys[identity]}"} if identity in keys else {}


def revoked_key(engine: Engine, project: ProjectKeys) -> str:
    key = generate_key()
    with engine.begin() as conn:
        record = key_store.get_project(conn, project.scope.project_id)
        created = key_store.create_key(
            conn, record, KeyType.API.value, hash_key(key), display_prefix(key)
        )
        key_store.revoke_key(conn, created.id)
    return key


@pytest.mark.parametrize("identity", ["other", "web", "none", "revoked"])
async def test_no_one_but_the_projects_api_key_reads_or_changes_its_data(
    client: httpx.AsyncClient,
    engine: Engine,
    project: ProjectKeys,
    other_project: ProjectKeys,
    identity: str,
) -> None:
    seeded = await seed(client, project)
    revoked = revoked_key(engine, project)
    before = await snapshot(client)
    owner = client.headers.pop("Authorization")
    headers = identity_headers(identity, project, other_project, revoked)
    wrong: list[str] = []
    for operation_id, (method, template, body) in REQUESTS.items():
        url = template.format(project=project.scope.project_id, thread=seeded.thread_id)
        response = await client.request(method, url, json=body, headers=headers)
        expected = expected_status(identity, operation_id)
        if response.status_code != expected:
            wrong.append(f"{operation_id}: {response.status_code}, not {expected}: {response.text}")
        if identity == "web" and expected == 200:
            continue  # its own project's data, by API.md §1.4
        sent = url + json.dumps(body)
        leaked = [m for m in seeded.markers if m in response.text and m not in sent]
        if leaked:
            wrong.append(f"{operation_id} answered {leaked}: {response.text}")
    assert wrong == [], "\n".join(wrong)
    client.headers["Authorization"] = owner
    if identity != "web":
        assert await snapshot(client) == before
