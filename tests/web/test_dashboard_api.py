"""The dashboard's data calls and sign-in on both engines, in process: every call needs a
session, answers only for the person's projects (404 for any other), matches the DSL, and
the sign-in rules hold (single-use links, CSRF, rate limit, logout)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from convoscope.auth import hash_password, issue_link
from convoscope.store import users as user_store
from tests.conftest import ProjectKeys

pytestmark = pytest.mark.usefixtures("engine")


def _user(
    engine: Engine, email: str, *projects: tuple[ProjectKeys, str], password: str = ""
) -> str:
    """Create a user on the projects (with roles); return a sign-in link path."""
    # Taken now, not at import: a link lives 15 minutes, and a loaded suite runs longer.
    now = datetime.now(UTC)
    with engine.begin() as conn:
        user = user_store.create_user(conn, email, now=now)
        for project, role in projects:
            user_store.set_membership(conn, project.scope.project_id, user.id, role, now=now)
        if password:
            user_store.set_password_hash(conn, user.id, hash_password(password))
        return issue_link(conn, user, "http://convoscope", now=now).removeprefix(
            "http://convoscope"
        )


async def _log(client: httpx.AsyncClient, key: str, cid: str, question: str) -> None:
    at = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    response = await client.post(
        "/conversations",
        headers={"Authorization": f"Bearer {key}"},
        json={"id": cid, "type": "openai", "createdAt": at,
              "userProperties": {"id": f"u-{cid}"},
              "messages": [{"id": f"{cid}-q", "role": "user", "content": question, "createdAt": at},
                           {"id": f"{cid}-a", "role": "assistant", "content": "yes",
                            "createdAt": at}]},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    feedback = await client.post(
        "/feedback",
        headers={"Authorization": f"Bearer {key}"},
        json={"messageId": f"{cid}-a", "type": "negative", "createdAt": at},
    )
    assert feedback.status_code == 200, feedback.text


async def _sign_in(client: httpx.AsyncClient, link: str) -> None:
    response = await client.get(link)
    assert response.status_code == 303, response.text
    assert "convoscope_session" in client.cookies


async def test_data_calls_need_a_session(app_client: httpx.AsyncClient) -> None:
    for path in ("/dashboard/api/overview/cards", "/dashboard/api/conversations"):
        response = await app_client.get(path)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
    page = await app_client.get("/dashboard/topics?range=30d")
    assert page.status_code == 303
    assert page.headers["location"] == "/dashboard/signin?next=/dashboard/topics%3Frange%3D30d"


async def test_a_viewer_reads_only_their_project(
    app_client: httpx.AsyncClient,
    engine: Engine,
    project: ProjectKeys,
    other_project: ProjectKeys,
) -> None:
    await _log(app_client, project.api_key, "mine", "How do I rotate a key?")
    await _log(app_client, other_project.api_key, "theirs", "secret question")
    await _sign_in(app_client, _user(engine, "v@example.com", (project, "viewer")))
    other = other_project.scope.project_id
    cards = (await app_client.get("/dashboard/api/overview/cards")).json()["cards"]
    assert {c["key"]: c["value"] for c in cards}["conversations"] == 1
    listing = (await app_client.get("/dashboard/api/conversations")).json()
    assert [r["id"] for r in listing["rows"]] == ["mine"]
    assert listing["rows"][0]["question"] == "How do I rotate a key?"
    for path in (
        f"/dashboard/api/overview/cards?project={other}",
        f"/dashboard/api/conversations?project={other}",
        f"/dashboard/api/gaps.csv?project={other}",
        "/dashboard/api/conversations/theirs",
        f"/dashboard/api/conversations/theirs?project={other}",
    ):
        response = await app_client.get(path)
        assert response.status_code == 404, path
        assert "secret" not in response.text
    page = await app_client.get("/dashboard/conversations/theirs")
    assert page.status_code == 404 and "secret" not in page.text
    assert (await app_client.get("/dashboard/settings")).status_code == 403


async def test_the_cards_are_the_dsl_answers(
    app_client: httpx.AsyncClient, engine: Engine, project: ProjectKeys
) -> None:
    for i in range(3):
        await _log(app_client, project.api_key, f"c{i}", f"question {i}")
    await _sign_in(app_client, _user(engine, "a@example.com", (project, "admin")))
    cards = (await app_client.get("/dashboard/api/overview/cards?range=24h")).json()["cards"]
    values = {c["key"]: c["value"] for c in cards}
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = (hour - timedelta(hours=23)).strftime("%Y-%m-%dT%H:00:00.000Z")
    dsl = await app_client.post(
        "/query/conversations",
        headers={"Authorization": f"Bearer {project.api_key}"},
        json={"select": [{"type": "aggregation", "aggregation": "count"},
                         {"type": "aggregation", "aggregation": "countDistinct",
                          "field": "userProperties", "path": ["id"]}],
              "where": {"condition": {"field": "firstMessageTime", "operator": "gte",
                                      "value": start}}},
    )  # fmt: skip
    row = dsl.json()["data"]["result"][0]
    assert values["conversations"] == row["count"] == 3
    assert values["users"] == row["countDistinct_userProperties.id"] == 3
    assert values["questions"] == 3
    assert (values["thumbs_up"], values["thumbs_down"], values["positive_share"]) == (0, 3, 0.0)
    # Not annotated yet: the shares are undefined, not zero.
    assert values["gap_share"] is None and values["confident_share"] is None


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        pytest.param("q=ROTATE", ["c0"], id="text-in-question"),
        pytest.param("feedback=negative", ["c1", "c0"], id="negative-feedback"),
        pytest.param("feedback=positive", [], id="positive-feedback"),
        pytest.param("type=support_ticket", [], id="type"),
        pytest.param("range=custom&from=2000-01-01&to=2000-01-02", [], id="date"),
    ],
)
async def test_conversation_filters(
    app_client: httpx.AsyncClient, engine: Engine, project: ProjectKeys, query: str, ids: list[str]
) -> None:
    await _log(app_client, project.api_key, "c0", "How do I rotate a key?")
    await _log(app_client, project.api_key, "c1", "Billing question")
    await _sign_in(app_client, _user(engine, "a@example.com", (project, "viewer")))
    listing = (await app_client.get(f"/dashboard/api/conversations?{query}")).json()
    assert sorted(r["id"] for r in listing["rows"]) == sorted(ids)
    assert listing["total"] == len(ids)
    csv = await app_client.get(f"/dashboard/api/conversations.csv?{query}")
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    lines = csv.text.splitlines()
    assert lines[0] == "id,firstMessageTime,type,integrationId,userMessageCount,question"
    assert sorted(line.split(",")[0] for line in lines[1:]) == sorted(ids)


async def test_bad_view_parameters_are_problems(
    app_client: httpx.AsyncClient, engine: Engine, project: ProjectKeys
) -> None:
    await _sign_in(app_client, _user(engine, "a@example.com", (project, "viewer")))
    for query, field in (("range=week", "range"), ("range=custom&from=2025-01-01", "from"),
                         ("range=custom&from=x&to=2025-01-01", "from"), ("page=0", "page"),
                         ("feedback=maybe", "feedback")):  # fmt: skip
        response = await app_client.get(f"/dashboard/api/conversations?{query}")
        assert response.status_code == 400, query
        assert response.json()["field"] == field


async def test_a_link_signs_in_once(
    app_client: httpx.AsyncClient, engine: Engine, project: ProjectKeys
) -> None:
    link = _user(engine, "a@example.com", (project, "viewer"))
    await _sign_in(app_client, link)
    app_client.cookies.clear()
    again = await app_client.get(link)
    assert again.status_code == 401
    assert "convoscope_session" not in again.cookies


async def test_password_sign_in_csrf_rate_limit_and_logout(
    app_client: httpx.AsyncClient, engine: Engine, project: ProjectKeys
) -> None:
    _user(engine, "p@example.com", (project, "admin"), password="correct horse")
    form = await app_client.get("/dashboard/signin")
    token = form.text.split('name="csrf" value="')[1].split('"')[0]
    no_csrf = await app_client.post(
        "/dashboard/signin", data={"email": "p@example.com", "password": "correct horse"}
    )
    assert no_csrf.status_code == 403
    good = {"csrf": token, "email": "P@example.com", "password": "correct horse", "next": "/x"}
    signed_in = await app_client.post("/dashboard/signin", data=good)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/x"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = await app_client.get("/dashboard/settings")
    assert page.status_code == 200
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    assert (await app_client.post("/dashboard/signout", data={})).status_code == 403
    out = await app_client.post("/dashboard/signout", data={"csrf": csrf})
    assert out.status_code == 303
    assert (await app_client.get("/dashboard/api/overview/cards")).status_code == 401

    form = await app_client.get("/dashboard/signin")
    token = form.text.split('name="csrf" value="')[1].split('"')[0]
    good["csrf"] = token
    wrong = {**good, "password": "wrong horse"}
    statuses = [
        (await app_client.post("/dashboard/signin", data=wrong)).status_code for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    # Locked out even with the right password until the window passes.
    assert (await app_client.post("/dashboard/signin", data=good)).status_code == 429


async def test_an_admin_creates_a_key_shown_once_and_revokes_it(
    app_client: httpx.AsyncClient, engine: Engine, project: ProjectKeys
) -> None:
    await _sign_in(app_client, _user(engine, "a@example.com", (project, "admin")))
    page = await app_client.get("/dashboard/settings")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    pid = project.scope.project_id
    created = await app_client.post(
        "/dashboard/settings/keys", data={"csrf": csrf, "project": pid, "type": "api"}
    )
    assert created.status_code == 200
    key = created.text.split('<code class="secret">')[1].split("<")[0]
    assert key.startswith("cvs_")
    assert key not in (await app_client.get("/dashboard/settings")).text
    logged = await app_client.get("/conversations", headers={"Authorization": f"Bearer {key}"})
    assert logged.status_code == 200
    key_id = created.text.split(key[:10] + "…")[1].split('name="key_id" value="')[1].split('"')[0]
    revoked = await app_client.post(
        "/dashboard/settings/keys-revoke", data={"csrf": csrf, "project": pid, "key_id": key_id}
    )
    assert revoked.status_code == 200 and "Revoked key" in revoked.text
    refused = await app_client.get("/conversations", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401


async def _annotate(
    client: httpx.AsyncClient, key: str, values: dict[str, dict[str, object]]
) -> None:
    """Set the annotations of each conversation's thread, as a person verifying them."""
    auth = {"Authorization": f"Bearer {key}"}
    threads = (
        await client.post(
            "/query/semantic-threads",
            headers=auth,
            json={"select": [{"type": "field", "field": "id"},
                             {"type": "field", "field": "conversationIds"}]},
        )
    ).json()["data"]["result"]  # fmt: skip
    for thread in threads:
        body = values[thread["conversationIds"][0]]
        response = await client.post(
            f"/convoscope/semantic-threads/{thread['id']}/verify", headers=auth, json=body
        )
        assert response.status_code == 200, response.text


async def test_topics_and_gaps_count_threads_by_category_and_subject(
    app_client: httpx.AsyncClient, engine: Engine, project: ProjectKeys
) -> None:
    for cid in ("a", "b", "c"):
        await _log(app_client, project.api_key, cid, f"question {cid}")
    # _log rated every answer negative; one more, positive, on c.
    await app_client.post(
        "/feedback",
        headers={"Authorization": f"Bearer {project.api_key}"},
        json={"messageId": "c-a", "type": "positive"},
    )
    await _annotate(app_client, project.api_key, {
        "a": {"category": "billing", "subject": "invoices", "isDocumented": False,
              "gapSummary": "no invoice page"},
        "b": {"category": "billing", "subject": "invoices", "isDocumented": True,
              "isAnswerConfident": False},
        "c": {"category": "sso", "subject": "okta", "isDocumented": True,
              "isFeatureSupported": False},
    })  # fmt: skip
    await _sign_in(app_client, _user(engine, "a@example.com", (project, "viewer")))
    topics = (await app_client.get("/dashboard/api/topics")).json()["rows"]
    assert [(t["category"], t["questions"], t["positiveShare"], t["gapShare"]) for t in topics] == [
        ("billing", 2, 0.0, 0.5),
        ("sso", 1, 0.5, 0.0),
    ]
    gaps = (await app_client.get("/dashboard/api/gaps")).json()["rows"]
    assert [
        (g["subject"], g["total"], g["not_documented"], g["not_confident"], g["not_supported"],
         g["gapSummary"]) for g in gaps
    ] == [("invoices", 2, 1, 1, 0, "no invoice page"), ("okta", 1, 0, 0, 1, None)]  # fmt: skip
    csv = (await app_client.get("/dashboard/api/gaps.csv")).text.splitlines()
    assert csv[1].startswith("invoices,2,1,1,0,no invoice page,")
