"""A conversation logged after every answer reads back exactly as the same history logged
once: the write path keeps what did not change, and nothing a client sees tells."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ProjectKeys


def history(turns: int, *, ids: bool) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Answer from the docs.", "createdAt": _at(0, 0)}
    ]
    if ids:
        messages[0]["id"] = "s0"
    for turn in range(turns):
        question: dict[str, Any] = {
            "role": "user",
            "content": f"Question {turn}: how do webhooks retry?",
            "createdAt": _at(turn, 1),
        }
        answer: dict[str, Any] = {
            "role": "assistant",
            "content": [{"type": "text", "text": f"Answer {turn}: three times, then stop."}],
            "createdAt": _at(turn, 2),
            "updatedAt": _at(turn, 3),
            "links": [{"url": f"https://docs.example.com/webhooks#{turn}", "title": "Retries"}],
            "properties": {"model": "gpt-4o", "turn": turn},
        }
        if ids:
            question["id"], answer["id"] = f"q{turn}", f"a{turn}"
        messages += [question, answer]
    return messages


def _at(turn: int, second: int) -> str:
    return f"2025-03-01T09:{turn:02d}:{second:02d}.000Z"


def body(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "c1",
        "type": "openai",
        "createdAt": _at(0, 0),
        "updatedAt": _at(59, 59),
        "properties": {"plan": "pro"},
        "userProperties": {"id": "anon-1", "identificationType": "COOKIED"},
        "messages": messages,
    }


async def read(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {key}"}
    got = await client.get("/conversations/c1", headers=auth)
    assert got.status_code == 200, got.text
    stored: dict[str, Any] = got.json()
    threads = await client.post(
        "/query/semantic-threads",
        headers=auth,
        json={
            "select": [
                {"type": "field", "field": name}
                for name in ("question", "answer", "messageIds", "firstMessageTime")
            ],
            "orderBy": [{"field": "firstMessageTime", "direction": "asc"}],
        },
    )
    assert threads.status_code == 200, threads.text
    stored["threads"] = threads.json()["data"]["result"]
    # Which project it is in is the one difference there should be, and when it was
    # logged: the messages sent without updatedAt read as updated at the last log.
    logged = {m.pop("updatedAt") for m in stored["messages"] if m["role"] != "assistant"}
    assert len(logged) == 1
    for m in stored["messages"]:
        assert m.pop("conversationId") == "c1"
    stored.pop("projectId"), stored.pop("integrationId")
    return stored


@pytest.mark.parametrize("ids", [True, False], ids=["client ids", "no ids"])
async def test_logged_after_every_answer_or_once_it_reads_the_same(
    app_client: httpx.AsyncClient, project: ProjectKeys, other_project: ProjectKeys, ids: bool
) -> None:
    once, turn_by_turn = project.api_key, other_project.api_key
    final = history(6, ids=ids)
    answers = []
    for turn in range(1, 7):
        posted = await app_client.post(
            "/conversations",
            json=body(history(turn, ids=ids)),
            headers={"Authorization": f"Bearer {turn_by_turn}"},
        )
        assert posted.status_code == 200, posted.text
        answers.append(posted.json())
    whole = await app_client.post(
        "/conversations", json=body(final), headers={"Authorization": f"Bearer {once}"}
    )
    assert whole.status_code == 200, whole.text
    incremental = await read(app_client, turn_by_turn)
    replaced = await read(app_client, once)
    if not ids:  # generated ids differ between the two; each kept its own across turns
        assert [m["id"] for m in answers[-1]["messages"][:3]] == [
            m["id"] for m in answers[0]["messages"]
        ]
        for stored in (incremental, replaced):
            names = {m["id"]: f"m{i}" for i, m in enumerate(stored["messages"])}
            for m in stored["messages"]:
                m["id"] = names[m["id"]]
            for m in stored["messagesOpenAIFormat"]:
                m.pop("id", None)
            for t in stored["threads"]:
                t["messageIds"] = [names[i] for i in t["messageIds"]]
    assert incremental == replaced
    assert len(incremental["threads"]) == 6
