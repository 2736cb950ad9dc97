"""The official OpenAI instrumentation, around a loopback OpenAI-compatible server, exporting
to a real convoscope server: the chat it traces is stored as a conversation."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
import uvicorn
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import LiveServer


async def chat_completions(request: Request) -> JSONResponse:
    """Answers every chat with the last user message, upper-cased."""
    body = await request.json()
    question = body["messages"][-1]["content"]
    return JSONResponse(
        {
            "id": f"chatcmpl-{len(body['messages'])}",
            "object": "chat.completion",
            "created": 1_767_225_600,
            "model": body["model"] + "-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": question.upper()},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        }
    )


@pytest.fixture
def model_server() -> Iterator[str]:
    app = Starlette(routes=[Route("/v1/chat/completions", chat_completions, methods=["POST"])])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "model server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(timeout=20)


def test_instrumented_openai_chat_is_logged(
    live_server: LiveServer, model_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "span_only")
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    exporter = OTLPSpanExporter(
        endpoint=f"{live_server.url}/v1/traces",
        headers={"Authorization": f"Bearer {live_server.project.web_key}"},
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()  # type: ignore[no-untyped-call]
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=model_server, api_key="loopback", max_retries=0)
        history: list[Any] = [{"role": "system", "content": "Answer loudly."}]
        tracer = provider.get_tracer("support-bot")
        with tracer.start_as_current_span("support chat") as root:
            for question in ("where are the docs?", "thanks"):
                history.append({"role": "user", "content": question})
                reply = client.chat.completions.create(model="gpt-4o-mini", messages=history)
                history.append({"role": "assistant", "content": reply.choices[0].message.content})
            trace_id = f"{root.get_span_context().trace_id:032x}"
        client.close()
        assert provider.force_flush(10_000)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()

    response = httpx.get(
        f"{live_server.url}/conversations/{trace_id}",
        headers={"Authorization": f"Bearer {live_server.project.api_key}"},
    )
    assert response.status_code == 200, response.text
    stored = response.json()
    assert [(m["role"], m["content"]) for m in stored["messages"]] == [
        ("system", "Answer loudly."),
        ("user", "where are the docs?"),
        ("assistant", "WHERE ARE THE DOCS?"),
        ("user", "thanks"),
        ("assistant", "THANKS"),
    ]
    call = stored["messages"][2]["properties"]
    assert call["model"] == "gpt-4o-mini-2024-07-18"
    assert call["requestModel"] == "gpt-4o-mini"
    assert call["provider"] == "openai"
    assert (call["inputTokens"], call["outputTokens"]) == (12, 3)
    assert call["finishReasons"] == ["stop"]
    assert call["serviceName"] == "support-bot"
    assert stored["properties"]["calls"] == 2
