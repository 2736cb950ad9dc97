"""Feedback is upserted by id, embeds its conversation and message, and never outlives
its conversation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_errors import assert_problem
from tests.builders import openai_conversation
from tests.conftest import ProjectKeys

T0 = "2025-03-01T09:31:10.000Z"


async def logged_conversation(client: httpx.AsyncClient, conversation_id: str = "c1") -> Any:
    body = openai_conversation(conversation_id)
    body["messages"][1]["id"] = f"{conversation_id}-answer"
    response = await client.post("/conversations", json=body)
    assert response.status_code == 200
    return response.json()


async def submit(client: httpx.AsyncClient, **body: Any) -> Any:
    response = await client.post("/feedback", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_feedback_round_trips_every_field(client: httpx.AsyncClient) -> None:
    await logged_conversation(client)
    stored = await submit(
        client,
        id="fb_19",
        type="negative",
        messageId="c1-answer",
        createdAt=T0,
        reasons=[{"label": "inaccurate", "details": "Rotate button does not exist"}],
        details="The UI changed",
        userProperties={"id": "anon-55"},
        sources=[{"type": "negative", "title": "Keys", "url": "https://x/keys"}, {"type": None}],
    )
    assert stored == {
        "id": "fb_19",
        "type": "negative",
        "messageId": "c1-answer",
        "createdAt": T0,
        "updatedAt": stored["updatedAt"],
        "reasons": [{"label": "inaccurate", "details": "Rotate button does not exist"}],
        "details": "The UI changed",
        "properties": None,
        "userProperties": {"id": "anon-55"},
        "sources": [
            {"type": "negative", "title": "Keys", "url": "https://x/keys"},
            {"type": None, "title": None, "url": None},
        ],
    }
    fetched = (await client.get("/feedback/fb_19")).json()
    conversation = (await client.get("/conversations/c1")).json()
    assert fetched == {
        **stored,
        "conversation": conversation,
        "message": conversation["messages"][1],
    }


async def test_the_same_id_again_updates_type_and_reasons(client: httpx.AsyncClient) -> None:
    await logged_conversation(client)
    first = await submit(client, id="fb1", type="negative", messageId="c1-answer", createdAt=T0)
    second = await submit(
        client,
        id="fb1",
        type="positive",
        messageId="c1-answer",
        reasons=[{"label": "helpful", "details": "yes"}],
    )
    assert second["createdAt"] == first["createdAt"] == T0
    assert (second["type"], second["reasons"]) == (
        "positive",
        [{"label": "helpful", "details": "yes"}],
    )
    listing = (await client.get("/feedback")).json()
    assert (listing["positiveFeedbackCount"], listing["negativeFeedbackCount"]) == (1, 0)
    assert [f["id"] for f in listing["positiveFeedback"]] == ["fb1"]
    assert listing["negativeFeedback"] == []


async def test_list_splits_a_newest_first_page_and_counts_the_whole_project(
    client: httpx.AsyncClient,
) -> None:
    await logged_conversation(client)
    for i in range(5):
        await submit(
            client,
            id=f"fb{i}",
            type="positive" if i % 2 else "negative",
            messageId="c1-answer",
            createdAt=f"2025-03-0{i + 1}T00:00:00.000Z",
        )
    page = (await client.get("/feedback", params={"limit": 3, "offset": 0})).json()
    assert (page["positiveFeedbackCount"], page["negativeFeedbackCount"]) == (2, 3)
    assert [f["id"] for f in page["positiveFeedback"]] == ["fb3"]
    assert [f["id"] for f in page["negativeFeedback"]] == ["fb4", "fb2"]
    assert all(f["conversation"]["id"] == "c1" for f in page["negativeFeedback"])


async def test_feedback_on_an_unknown_message_is_refused(client: httpx.AsyncClient) -> None:
    problem = assert_problem(
        await client.post("/feedback", json={"type": "positive", "messageId": "nope"}), 422
    )
    assert problem["field"] == "messageId"
    assert problem["detail"] == (
        "no message with id 'nope' in this project; log the conversation before its feedback"
    )


async def test_delete_feedback_answers_exactly_then_404(client: httpx.AsyncClient) -> None:
    await logged_conversation(client)
    await submit(client, id="fb1", type="positive", messageId="c1-answer")
    response = await client.delete("/feedback/fb1")
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Feedback deleted successfully"}
    assert_problem(await client.get("/feedback/fb1"), 404)
    assert_problem(await client.delete("/feedback/fb1"), 404)


async def test_deleting_a_conversation_deletes_its_feedback(client: httpx.AsyncClient) -> None:
    await logged_conversation(client, "c1")
    await logged_conversation(client, "c2")
    await submit(client, id="fb1", type="positive", messageId="c1-answer")
    await submit(client, id="fb2", type="negative", messageId="c2-answer")
    await client.delete("/conversations/c1")
    listing = (await client.get("/feedback")).json()
    assert (listing["positiveFeedbackCount"], listing["negativeFeedbackCount"]) == (0, 1)
    assert_problem(await client.get("/feedback/fb1"), 404)


async def test_write_only_keys_submit_feedback_but_read_none(
    app_client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    api = {"Authorization": f"Bearer {project.api_key}"}
    web = {"Authorization": f"Bearer {project.web_key}"}
    await app_client.post("/conversations", json=openai_conversation("c1"), headers=api)
    message_id = (await app_client.get("/conversations/c1", headers=api)).json()["messages"][1][
        "id"
    ]
    response = await app_client.post(
        "/feedback", json={"id": "fb1", "type": "positive", "messageId": message_id}, headers=web
    )
    assert response.status_code == 200
    for call in (
        app_client.get("/feedback", headers=web),
        app_client.get("/feedback/fb1", headers=web),
        app_client.delete("/feedback/fb1", headers=web),
    ):
        assert_problem(await call, 403)


async def test_no_key_reaches_another_projects_feedback(
    app_client: httpx.AsyncClient, project: ProjectKeys, other_project: ProjectKeys
) -> None:
    mine = {"Authorization": f"Bearer {project.api_key}"}
    theirs = {"Authorization": f"Bearer {other_project.api_key}"}
    body = openai_conversation("c1")
    body["messages"][1]["id"] = "answer"
    await app_client.post("/conversations", json=body, headers=mine)
    await app_client.post(
        "/feedback", json={"id": "fb1", "type": "positive", "messageId": "answer"}, headers=mine
    )
    assert_problem(await app_client.get("/feedback/fb1", headers=theirs), 404)
    assert_problem(await app_client.delete("/feedback/fb1", headers=theirs), 404)
    listing = (await app_client.get("/feedback", headers=theirs)).json()
    assert (listing["positiveFeedbackCount"], listing["positiveFeedback"]) == (0, [])
    assert_problem(
        await app_client.post(
            "/feedback", json={"type": "negative", "messageId": "answer"}, headers=theirs
        ),
        422,
    )


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"messageId": "m"}, "type", "is required"),
        ({"type": "neutral", "messageId": "m"}, "type", "Input should be 'positive' or 'negative'"),
        ({"type": "positive"}, "messageId", "is required"),
        (
            {"type": "positive", "messageId": "m", "reasons": [{"label": "x"}]},
            "reasons[0].details",
            "is required",
        ),
        (
            {"type": "positive", "messageId": "m", "sources": [{"title": "t"}]},
            "sources[0].type",
            "is required",
        ),
        (
            {"type": "positive", "messageId": "m", "sources": [{"type": "documentation"}]},
            "sources[0].type",
            "Input should be 'positive', 'negative' or 'new'",
        ),
    ],
)
async def test_bad_feedback_bodies_name_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str, message: str
) -> None:
    problem = assert_problem(await client.post("/feedback", json=body), 400)
    assert problem["errors"][0] == {"field": field, "message": message}


async def test_feedback_on_a_message_a_re_log_drops_is_deleted_with_it(
    client: httpx.AsyncClient,
) -> None:
    def message(message_id: str, role: str) -> dict[str, str]:
        return {"id": message_id, "role": role, "content": message_id}

    first = {
        "id": "c1",
        "type": "openai",
        "messages": [message("m1", "user"), message("m2", "assistant")],
    }
    assert (await client.post("/conversations", json=first)).status_code == 200
    for feedback_id, message_id in (("f1", "m1"), ("f2", "m2")):
        body = {"id": feedback_id, "type": "negative", "messageId": message_id}
        assert (await client.post("/feedback", json=body)).status_code == 200
    again = {**first, "messages": [message("m1", "user"), message("m3", "assistant")]}
    assert (await client.post("/conversations", json=again)).status_code == 200

    listed = await client.get("/feedback")
    assert listed.status_code == 200, listed.text
    assert listed.json()["negativeFeedbackCount"] == 1
    assert [f["id"] for f in listed.json()["negativeFeedback"]] == ["f1"]
    assert (await client.get("/feedback/f1")).status_code == 200
    assert (await client.get("/feedback/f2")).status_code == 404
    queried = await client.post(
        "/query/feedback", json={"select": [{"type": "field", "field": "id"}]}
    )
    assert queried.json()["data"]["result"] == [{"id": "f1"}]
