"""The OpenAI drop-in: the app gets exactly what OpenAI's library returns or raises, and
each call is logged as the upsert of its conversation (history, reply, model, usage,
latency, time to first token, finish reason, error), streamed or not, sync or async."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.responses import Response

import convoscope
from convoscope.client import BackgroundLogger, Client, Conversation
from convoscope.client import context as client_context
from convoscope.openai import AsyncOpenAI, OpenAI, instrument
from tests.conftest import LiveServer
from tests.openai.openai_server import TOOL_CALLS, OpenAIServer, openai_server

Q: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "hello there"},
]


@pytest.fixture
def oai() -> Iterator[tuple[str, OpenAIServer]]:
    with openai_server() as server:
        yield server


@pytest.fixture
def logger(live_server: LiveServer) -> Iterator[BackgroundLogger]:
    """The default logger of ``convoscope.configure``, pointed at the test server."""
    logger = convoscope.configure(live_server.url, live_server.project.api_key, flush_interval=0.05)
    yield logger
    logger.shutdown()
    client_context._default = None


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[Client]:
    with Client(live_server.url, live_server.project.api_key) as client:
        yield client


def logged(api: Client, logger: BackgroundLogger, conversation_id: str) -> Conversation:
    assert logger.flush()
    assert logger.stats.failed == 0
    return api.get_conversation(conversation_id)


def reply_facts(conversation: Conversation) -> dict[str, Any]:
    facts = dict(conversation.messages[-1].properties or {})
    for volatile in ("latencyMs", "timeToFirstTokenMs"):
        assert isinstance(facts.pop(volatile, 0.0), float)
    return facts


def test_a_chat_is_logged_and_returned_unchanged(
    oai: tuple[str, OpenAIServer], logger: BackgroundLogger, api: Client
) -> None:
    url, _ = oai
    client = OpenAI(base_url=url, api_key="sk-test")
    assert isinstance(client, openai.OpenAI)
    with convoscope.conversation(id="conv-1", user="u_7", properties={"page": "/docs"}):
        completion = client.chat.completions.create(model="gpt-test", messages=Q)
    assert isinstance(completion, ChatCompletion)
    assert completion.choices[0].message.content == "echo: hello there"
    stored = logged(api, logger, "conv-1")
    assert [(m.role, m.content) for m in stored.messages] == [
        ("system", "Be brief."),
        ("user", "hello there"),
        ("assistant", "echo: hello there"),
    ]
    assert (stored.properties, stored.userProperties) == ({"page": "/docs"}, {"id": "u_7"})
    assert reply_facts(stored) == {
        "api": "chat.completions",
        "model": "gpt-test",
        "responseId": "chatcmpl-1",
        "usage": {"promptTokens": 11, "completionTokens": 7, "totalTokens": 18},
        "finishReason": "stop",
    }


def test_a_follow_up_continues_the_same_conversation(
    oai: tuple[str, OpenAIServer], logger: BackgroundLogger, api: Client
) -> None:
    url, _ = oai
    client = OpenAI(base_url=url, api_key="sk-test")
    first = client.chat.completions.create(model="gpt-test", messages=Q)
    history: list[Any] = [*Q, first.choices[0].message, {"role": "user", "content": "and then?"}]
    client.chat.completions.create(model="gpt-test", messages=history)
    assert logger.flush()
    page = api.list_conversations()
    assert page.total == 1
    assert [m.content for m in page.conversations[0].messages] == [
        "Be brief.",
        "hello there",
        "echo: hello there",
        "and then?",
        "echo: and then?",
    ]


def test_convoscope_arguments_never_reach_openai(
    oai: tuple[str, OpenAIServer], logger: BackgroundLogger, api: Client
) -> None:
    url, server = oai
    client = OpenAI(base_url=url, api_key="sk-test")
    # OpenAI's signature does not declare them: type checkers see only conversation()
    client.chat.completions.create(  # type: ignore[call-overload]
        model="gpt-test",
        messages=Q,
        convoscope_conversation_id="kw-1",
        convoscope_user="u_9",
        convoscope_properties={"plan": "pro"},
    )
    assert not [key for key in server.requests[-1] if key.startswith("convoscope")]
    stored = logged(api, logger, "kw-1")
    assert (stored.userProperties, stored.properties) == ({"id": "u_9"}, {"plan": "pro"})
    with pytest.raises(TypeError, match="convoscope_conversation"):
        client.chat.completions.create(  # type: ignore[call-overload]
            model="gpt-test", messages=Q, convoscope_conversation="x"
        )


def test_a_stream_is_logged_when_read_to_the_end(
    oai: tuple[str, OpenAIServer], logger: BackgroundLogger, api: Client
) -> None:
    url, _ = oai
    client = OpenAI(base_url=url, api_key="sk-test")
    with convoscope.conversation(id="s-1"):
        stream = client.chat.completions.create(
            model="gpt-test", messages=Q, stream=True, stream_options={"include_usage": True}
        )
        assert isinstance(stream, openai.Stream)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "echo: hello there "
    stored = logged(api, logger, "s-1")
    assert stored.messages[-1].content == "echo: hello there "
    assert "timeToFirstTokenMs" in (stored.messages[-1].properties or {})
    assert reply_facts(stored) == {
        "api": "chat.completions",
        "stream": True,
        "model": "gpt-test",
        "responseId": "chatcmpl-2",
        "usage": {"promptTokens": 11, "completionTokens": 7, "totalTokens": 18},
        "finishReason": "stop",
    }


def test_tool_calls_are_reassembled_from_their_deltas(
    oai: tuple[str, OpenAIServer], logger: BackgroundLogger, api: Client
) -> None:
    url, _ = oai
    client = OpenAI(base_url=url, api_key="sk-test")
    ask: list[ChatCompletionMessageParam] = [{"role": "user", "content": "use a tool"}]
    with convoscope.conversation(id="t-stream"):
        for _ in client.chat.completions.create(model="gpt-test", messages=ask, stream=True):
            pass
    with convoscope.conversation(id="t-plain"):
        client.chat.completions.create(model="gpt-test", messages=ask)
    expected = [
        {
            "id": c["id"],
            "type": "function",
            "function": {"name": c["name"], "arguments": c["arguments"]},
        }
        for c in TOOL_CALLS
    ]
    for conversation_id in ("t-stream", "t-plain"):
        reply = logged(api, logger, conversation_id).messages[-1]
        assert reply.content == "Let me check."
        assert [call.model_dump() for call in reply.tool_calls or []] == expected
        assert (reply.properties or {})["finishReason"] == "tool_calls"
        assert json.loads(expected[0]["function"]["arguments"]) == {"code": "E42", "lang": "en"}  # type: ignore[index]


@pytest.mark.parametrize("ending", ["with", "close", "garbage"])
def test_a_stream_left_early_logs_what_was_read(
    oai: tuple[str, OpenAIServer], logger: BackgroundLogger, api: Client, ending: str
) -> None:
    url, _ = oai
    client = OpenAI(base_url=url, api_key="sk-test")
    with convoscope.conversation(id=f"early-{ending}"):
        stream = client.chat.completions.create(model="gpt-test", messages=Q, stream=True)
        if ending == "with":
            with stream:
                for index, _ in enumerate(stream):
                    if index == 2:
                        break
        else:
            for index, _ in enumerate(stream):
                if index == 2:
                    break
            if ending == "close":
                stream.close()
            else:
                del stream
                gc.collect()
    reply = logged(api, logger, f"early-{ending}").messages[-1]
    assert reply.content == "echo: hello "
    assert (reply.properties or {})["incomplete"] is True


def test_the_callers_exception_is_raised_unchanged_and_logged(
    oai: tuple[str, OpenAIServer], logger: BackgroundLogger, api: Client
) -> None:
    url, _ = oai
    client = OpenAI(base_url=url, api_key="sk-test", max_retries=0)
    with convoscope.conversation(id="err-1"), pytest.raises(openai.BadRequestError) as failed:
        client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "fail"}]
        )
    assert failed.value.status_code == 400
    last = logged(api, logger, "err-1").messages[-1]
    assert (last.role, last.content) == ("user", "fail")
    error = (last.properties or {})["error"]
    assert (error["type"], error["status"]) == ("BadRequestError", 400)


def test_feedback_on_the_last_reply(
    oai: tuple[str, OpenAIServer], logger: BackgroundLogger, api: Client
) -> None:
    url, _ = oai
    client = OpenAI(base_url=url, api_key="sk-test")
    with convoscope.conversation(id="fb-1"):
        client.chat.completions.create(model="gpt-test", messages=Q)
        rated = convoscope.feedback(
            last=True, type="negative", reasons=[{"label": "inaccurate", "details": "no"}]
        )
    assert logger.flush()
    stored = api.get_conversation("fb-1")
    assert rated == stored.messages[-1].id
    page = api.list_feedback()
    assert [(f.messageId, f.type) for f in page.negativeFeedback] == [(rated, "negative")]


def test_instrument_a_client_made_elsewhere(
    oai: tuple[str, OpenAIServer], live_server: LiveServer, api: Client
) -> None:
    url, _ = oai
    own = BackgroundLogger(live_server.url, live_server.project.api_key)
    plain = openai.OpenAI(base_url=url, api_key="sk-test")
    assert instrument(plain, logger=own) is plain
    assert instrument(plain, logger=own) is plain  # twice is harmless
    with convoscope.conversation(id="plain-1"):
        plain.chat.completions.create(model="gpt-test", messages=Q)
    assert own.shutdown()
    assert [m.content for m in api.get_conversation("plain-1").messages][-1] == "echo: hello there"


def test_the_responses_api(
    oai: tuple[str, OpenAIServer], logger: BackgroundLogger, api: Client
) -> None:
    url, _ = oai
    client = OpenAI(base_url=url, api_key="sk-test")
    with convoscope.conversation(id="r-1"):
        first = client.responses.create(model="gpt-test", instructions="Be brief.", input="hi")
    assert isinstance(first, Response)
    # continued by id, outside any scope: the same conversation, its whole history
    client.responses.create(model="gpt-test", input="more", previous_response_id=first.id)
    stored = logged(api, logger, "r-1")
    assert [(m.role, m.content) for m in stored.messages] == [
        ("system", "Be brief."),
        ("user", "hi"),
        ("assistant", "echo: hi"),
        ("user", "more"),
        ("assistant", "echo: more"),
    ]
    assert reply_facts(stored) == {
        "api": "responses",
        "model": "gpt-test",
        "responseId": "resp_2",
        "usage": {"promptTokens": 5, "completionTokens": 3, "totalTokens": 8},
        "finishReason": "completed",
    }
    with convoscope.conversation(id="r-stream"):
        events = list(client.responses.create(model="gpt-test", input="streamed", stream=True))
    assert events[-1].type == "response.completed"
    reply = logged(api, logger, "r-stream").messages[-1]
    assert (reply.content, (reply.properties or {})["stream"]) == ("echo: streamed", True)


async def test_async_chat_streamed_and_not(
    oai: tuple[str, OpenAIServer], logger: BackgroundLogger, api: Client
) -> None:
    url, _ = oai
    client = AsyncOpenAI(base_url=url, api_key="sk-test")
    assert isinstance(client, openai.AsyncOpenAI)
    with convoscope.conversation(id="a-1"):
        completion = await client.chat.completions.create(model="gpt-test", messages=Q)
    assert isinstance(completion, ChatCompletion)
    with convoscope.conversation(id="a-2"):
        stream = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "a tool please"}], stream=True
        )
        assert isinstance(stream, openai.AsyncStream)
        async for _ in stream:
            pass
    with convoscope.conversation(id="a-3"):
        stream = await client.chat.completions.create(model="gpt-test", messages=Q, stream=True)
        async with stream:
            index = 0
            async for _ in stream:
                index += 1
                if index == 3:
                    break
    with convoscope.conversation(id="a-4"), pytest.raises(openai.BadRequestError):
        await client.with_options(max_retries=0).chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "fail"}]
        )
    with convoscope.conversation(id="a-5"):
        await client.responses.create(model="gpt-test", input="async hi")
    assert logged(api, logger, "a-1").messages[-1].content == "echo: hello there"
    tools = logged(api, logger, "a-2").messages[-1]
    assert [c.function.name for c in tools.tool_calls or []] == ["lookup", "search"]
    assert logged(api, logger, "a-3").messages[-1].content == "echo: hello "
    assert "error" in (logged(api, logger, "a-4").messages[-1].properties or {})
    assert logged(api, logger, "a-5").messages[-1].content == "echo: async hi"
    await client.close()
