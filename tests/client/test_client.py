"""Every API operation through ``Client`` and ``AsyncClient`` against a real server on
loopback: typed answers, typed errors from problem+json, exports streamed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from convoscope.client import (
    AsyncClient,
    BadRequest,
    Client,
    Conversation,
    ConversationCreate,
    FeedbackCreate,
    Forbidden,
    MessageCreate,
    NotFound,
    Unauthorized,
    UnprocessableEntity,
)
from tests.builders import openai_conversation
from tests.conftest import LiveServer


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[Client]:
    with Client(live_server.url, api_key=live_server.project.api_key) as client:
        yield client


def test_conversations_round_trip(client: Client) -> None:
    body = ConversationCreate(
        id="conv/1 a",
        externalId="ticket-9",
        properties={"plan": "pro"},
        messages=[
            MessageCreate(role="user", content="How do I rotate my key?"),
            MessageCreate(role="assistant", content="Settings → API keys."),
        ],
    )
    stored = client.log_conversation(body)
    assert isinstance(stored, Conversation)
    assert (stored.id, stored.externalId, stored.properties) == (
        "conv/1 a",
        "ticket-9",
        {"plan": "pro"},
    )
    assert [(m.role, m.content) for m in stored.messages] == [
        ("user", "How do I rotate my key?"),
        ("assistant", "Settings → API keys."),
    ]
    assert client.get_conversation("conv/1 a") == stored
    assert client.get_conversation_by_external_id("ticket-9").id == "conv/1 a"
    page = client.list_conversations(limit=5)
    assert (page.total, page.count, page.pageSize, [c.id for c in page.conversations]) == (
        1,
        1,
        5,
        ["conv/1 a"],
    )
    assert client.delete_conversation("conv/1 a").success is True
    with pytest.raises(NotFound) as missing:
        client.get_conversation("conv/1 a")
    assert missing.value.status == 404
    assert missing.value.code == "not_found"
    assert missing.value.request_id


def test_a_conversation_without_id_gets_one_before_it_is_sent(client: Client) -> None:
    stored = client.log_conversation(openai_conversation())
    assert stored.id.startswith("conv_")
    assert client.get_conversation(stored.id).id == stored.id


def test_feedback_and_events(client: Client) -> None:
    stored = client.log_conversation(openai_conversation("c1"))
    answer = stored.messages[1].id
    feedback = client.log_feedback(
        FeedbackCreate(
            type="negative",
            messageId=answer,
            reasons=[{"label": "inaccurate", "details": "wrong menu"}],
        )
    )
    assert (feedback.type, feedback.messageId, feedback.reasons[0].label) == (  # type: ignore[index]
        "negative",
        answer,
        "inaccurate",
    )
    with_context = client.get_feedback(feedback.id)
    assert (with_context.conversation.id, with_context.message.id) == ("c1", answer)
    page = client.list_feedback()
    assert (page.negativeFeedbackCount, page.positiveFeedbackCount) == (1, 0)
    assert [f.id for f in page.negativeFeedback] == [feedback.id]
    assert client.delete_feedback(feedback.id).success is True
    event = client.log_event(
        {"entityType": "message", "type": "chat_message_copied", "messageId": answer}
    )
    assert (event.entityType, event.messageId, event.type) == (
        "message",
        answer,
        "chat_message_copied",
    )
    client.log_event({"entityType": "search", "type": "search", "searchQuery": "rotate key"})
    top = client.top_search_queries()
    assert [(row.search_query, row.count) for row in top] == [("rotate key", 1)]
    weekly = client.weekly_search_users()
    assert [row.unique_users for row in weekly] == [0]


def test_queries_property_discovery_and_verification(client: Client) -> None:
    client.log_conversation(openai_conversation("c1", properties={"plan": "pro"}))
    client.log_conversation(openai_conversation("c2", turns=2, properties={"plan": "free"}))
    counted = client.query_conversations(
        {"select": [{"type": "aggregation", "aggregation": "count"}]}
    )
    assert (counted.result, counted.total) == ([{"count": 2}], 1)
    ids = client.query(
        "conversations",
        {
            "select": [{"type": "field", "field": "id"}],
            "orderBy": [{"field": "id", "direction": "asc"}],
        },
    )
    assert ids.result == [{"id": "c1"}, {"id": "c2"}]
    assert client.query_events().result == []
    assert client.query_feedback().result == []
    threads = client.query_semantic_threads(
        {"select": [{"type": "field", "field": "id"}, {"type": "field", "field": "question"}]}
    )
    assert sorted(row["question"] for row in threads.result) == [
        "question 0",
        "question 0",
        "question 1",
    ]
    assert client.property_keys("properties", views=["conversations_view"]) == ["plan"]
    assert sorted(client.property_values("properties", "plan")) == ["free", "pro"]
    verified = client.verify_thread(threads.result[0]["id"], {"category": "billing"})
    assert (verified.areAIAnnotationsVerified, verified.verifiedFields) == (True, ["category"])


def test_exports_stream_to_a_file_and_as_rows(client: Client, tmp_path: Path) -> None:
    for i in range(30):
        client.log_conversation(openai_conversation(f"c{i:02d}", properties={"n": f'a,"b"\n{i}'}))
    query = {
        "select": [{"type": "field", "field": "id"}, {"type": "field", "field": "properties"}],
        "orderBy": [{"field": "id", "direction": "asc"}],
    }
    path = tmp_path / "conversations.csv"
    written = client.export("conversations", query, to=path)
    assert written == path.stat().st_size
    buffer = io.BytesIO()
    client.export("conversations", query, to=buffer)
    assert buffer.getvalue() == path.read_bytes()
    rows = list(client.export_rows("conversations", query))
    assert rows == [{"id": f"c{i:02d}", "properties.n": f'a,"b"\n{i}'} for i in range(30)]
    for resource in ("events", "feedback", "semantic-threads"):
        assert isinstance(list(client.export_rows(resource)), list)
    with pytest.raises(BadRequest) as bad:
        list(client.export_rows("conversations", {"select": [{"type": "field", "field": "x"}]}))
    assert bad.value.field


def test_errors_follow_the_problem_body(client: Client, live_server: LiveServer) -> None:
    with pytest.raises(BadRequest) as bad:
        client.log_conversation({"type": "openai", "messages": []})
    assert bad.value.field == "messages"
    with pytest.raises(UnprocessableEntity) as impossible:
        client.log_feedback({"type": "positive", "messageId": "nope"})
    assert impossible.value.field == "messageId"
    with Client(live_server.url, api_key="cvs_wrong") as stranger:
        with pytest.raises(Unauthorized):
            stranger.list_conversations()
    with Client(live_server.url, api_key=live_server.project.web_key) as web:
        web.log_conversation(openai_conversation("w1"))
        with pytest.raises(Forbidden) as refused:
            web.list_conversations()
    assert refused.value.status == 403
    assert "403" in str(refused.value)


async def test_async_client_covers_the_same_operations(
    live_server: LiveServer, tmp_path: Path
) -> None:
    async with AsyncClient(live_server.url, api_key=live_server.project.api_key) as client:
        stored = await client.log_conversation(openai_conversation("a1", externalId="x1"))
        assert (await client.get_conversation("a1")) == stored
        assert (await client.get_conversation_by_external_id("x1")).id == "a1"
        assert (await client.list_conversations()).total == 1
        feedback = await client.log_feedback(
            {"type": "positive", "messageId": stored.messages[1].id}
        )
        assert (await client.get_feedback(feedback.id)).message.id == stored.messages[1].id
        assert (await client.list_feedback()).positiveFeedbackCount == 1
        assert (await client.delete_feedback(feedback.id)).success
        await client.log_event(
            {"entityType": "conversation", "type": "shared", "conversationId": "a1"}
        )
        assert (
            await client.query_events({"select": [{"type": "field", "field": "type"}]})
        ).result == [{"type": "shared"}]
        assert (await client.query_feedback()).count == 0
        assert (await client.query_conversations()).count == 1
        threads = await client.query_semantic_threads(
            {"select": [{"type": "field", "field": "id"}]}
        )
        assert threads.count == 1
        verified = await client.verify_thread(threads.result[0]["id"], {"isDocumented": False})
        assert verified.verifiedFields == ["isDocumented"]
        assert await client.property_keys() == []
        assert await client.property_values("userProperties", "id") == []
        assert await client.top_search_queries(after="2020-01-01") == []
        assert await client.weekly_search_users() == []
        rows = [row async for row in client.export_rows("conversations")]
        assert [row["id"] for row in rows] == ["a1"]
        written = await client.export("semantic-threads", to=tmp_path / "threads.csv")
        assert written == (tmp_path / "threads.csv").stat().st_size
        assert (await client.delete_conversation("a1")).success
        with pytest.raises(NotFound):
            await client.delete_conversation("a1")
