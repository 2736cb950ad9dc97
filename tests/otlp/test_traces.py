"""``POST /v1/traces`` on a real server, fed by the OpenTelemetry SDK's OTLP/HTTP exporter."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.conftest import LiveServer
from tests.otlp.spans import SpanMaker, otlp_json, text

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def exporter(server: LiveServer, *, compression: Compression | None = None) -> OTLPSpanExporter:
    return OTLPSpanExporter(
        endpoint=f"{server.url}/v1/traces",
        headers={"Authorization": f"Bearer {server.project.api_key}"},
        compression=compression,
        timeout=10,
    )


def export(server: LiveServer, spans: list[ReadableSpan], **kwargs: Any) -> None:
    sender = exporter(server, **kwargs)
    try:
        assert sender.export(spans) is SpanExportResult.SUCCESS
    finally:
        sender.shutdown()  # type: ignore[no-untyped-call]


def get_conversation(server: LiveServer, conversation_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.url}/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {server.project.api_key}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def two_turns(maker: SpanMaker, conversation: str = "chat-1") -> list[ReadableSpan]:
    """Two calls of one chat; the second resends the history, as chat clients do."""
    system = text("system", "You answer questions about the docs.")
    q1, a1 = text("user", "How do I rotate a key?"), text("assistant", "Open Settings.")
    q2, a2 = text("user", "And revoke one?"), text("assistant", "Click Revoke.")
    return [
        maker.chat(
            inputs=[system, q1], outputs=[a1], start_s=0, conversation=conversation, user="u-7"
        ),
        maker.chat(
            inputs=[system, q1, a1, q2], outputs=[a2], start_s=60, conversation=conversation
        ),
    ]


def transcript(conversation: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in conversation["messages"]]


EXPECTED = [
    ("system", "You answer questions about the docs."),
    ("user", "How do I rotate a key?"),
    ("assistant", "Open Settings."),
    ("user", "And revoke one?"),
    ("assistant", "Click Revoke."),
]


def test_protobuf_export_builds_the_conversation(live_server: LiveServer) -> None:
    export(live_server, two_turns(SpanMaker()))
    stored = get_conversation(live_server, "chat-1")
    assert transcript(stored) == EXPECTED
    assert stored["type"] == "openai"
    assert stored["userProperties"] == {"id": "u-7"}
    turn = stored["messages"][2]["properties"]
    assert turn["model"] == "gpt-4o-mini-2024-07-18"
    assert turn["provider"] == "openai"
    assert (turn["inputTokens"], turn["outputTokens"]) == (10, 5)
    assert turn["finishReasons"] == ["stop"]
    assert turn["latencyMs"] == 1500
    assert turn["serviceName"] == "docs-bot"
    totals = stored["properties"]
    assert totals["calls"] == 2 and totals["inputTokens"] == 20 and totals["outputTokens"] == 10
    assert totals["models"] == ["gpt-4o-mini-2024-07-18"] and totals["errors"] == 0


def test_order_requests_and_retries_change_nothing(live_server: LiveServer) -> None:
    first, second = two_turns(SpanMaker(), "chat-a")
    export(live_server, [second])
    export(live_server, [first])
    out_of_order = get_conversation(live_server, "chat-a")
    assert transcript(out_of_order) == EXPECTED
    export(live_server, [first, second])  # the exporter retried both
    retried = get_conversation(live_server, "chat-a")
    assert retried == out_of_order

    again = two_turns(SpanMaker(), "chat-b")
    export(live_server, again)
    in_order = get_conversation(live_server, "chat-b")
    strip = {"id", "conversationId"}

    def same(c: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in m.items() if k not in strip and k != "properties"}
            for m in c["messages"]
        ]

    assert same(in_order) == same(out_of_order)


def test_calls_without_history_append_in_time_order(live_server: LiveServer) -> None:
    maker = SpanMaker()
    system = text("system", "Be brief.")
    spans = [
        maker.chat(
            inputs=[system, text("user", f"question {i}")],
            outputs=[text("assistant", f"answer {i}")],
            start_s=10 * i,
            extra={"session.id": "session-9"},
        )
        for i in range(3)
    ]
    export(live_server, spans[::-1])
    stored = get_conversation(live_server, "session-9")
    assert transcript(stored) == [("system", "Be brief.")] + [
        pair for i in range(3) for pair in (("user", f"question {i}"), ("assistant", f"answer {i}"))
    ]


def test_trace_id_names_the_conversation_and_errors_are_kept(live_server: LiveServer) -> None:
    span = SpanMaker().chat(
        inputs=[text("user", "hi")], outputs=[], start_s=0, error="rate limited"
    )
    export(live_server, [span], compression=Compression.Gzip)
    trace_id = f"{span.context.trace_id:032x}"
    stored = get_conversation(live_server, trace_id)
    assert transcript(stored) == [("user", "hi")]
    properties = stored["messages"][0]["properties"]
    assert properties["error"] == {"type": "RateLimitError", "message": "rate limited"}
    assert properties["traceId"] == trace_id
    assert stored["properties"]["errors"] == 1


def test_older_attribute_and_event_forms(live_server: LiveServer) -> None:
    maker = SpanMaker()
    flattened = maker.span(
        {
            "gen_ai.operation.name": "text_completion",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-3.5-turbo-instruct",
            "gen_ai.usage.prompt_tokens": 3,
            "gen_ai.usage.completion_tokens": 4,
            "gen_ai.conversation.id": "legacy-1",
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "Be kind.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "Hello?",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "Hi there.",
            "gen_ai.completion.0.finish_reason": "length",
        },
        start_s=0,
    )
    evented = maker.span(
        {"gen_ai.operation.name": "generate_content", "gen_ai.conversation.id": "legacy-1"},
        start_s=30,
        events=[
            ("gen_ai.user.message", {"content": "Again?"}),
            (
                "gen_ai.choice",
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": '{"role": "assistant", "content": "Yes."}',
                },
            ),
        ],
    )
    export(live_server, [evented, flattened])
    stored = get_conversation(live_server, "legacy-1")
    assert transcript(stored) == [
        ("system", "Be kind."),
        ("user", "Hello?"),
        ("assistant", "Hi there."),
        ("user", "Again?"),
        ("assistant", "Yes."),
    ]
    first = stored["messages"][2]["properties"]
    assert first["provider"] == "openai" and first["model"] == "gpt-3.5-turbo-instruct"
    assert (first["inputTokens"], first["outputTokens"], first["finishReasons"]) == (
        3,
        4,
        ["length"],
    )
    assert stored["messages"][4]["properties"]["finishReasons"] == ["stop"]


def post(server: LiveServer, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/traces",
        content=body,
        headers={"Authorization": f"Bearer {server.project.api_key}", **headers},
    )


def test_otlp_json_with_hex_ids(live_server: LiveServer) -> None:
    maker = SpanMaker()
    span = maker.chat(inputs=[text("user", "json?")], outputs=[text("assistant", "yes")], start_s=0)
    response = post(live_server, otlp_json([span]), {"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    trace_id = f"{span.context.trace_id:032x}"
    stored = get_conversation(live_server, trace_id)
    assert transcript(stored) == [("user", "json?"), ("assistant", "yes")]
    assert stored["messages"][1]["properties"]["spanId"] == f"{span.context.span_id:016x}"


def test_partial_success_counts_rejected_spans(live_server: LiveServer) -> None:
    maker = SpanMaker()
    no_content = maker.span({"gen_ai.operation.name": "chat"}, start_s=0)
    plain = maker.span({"http.method": "GET"}, start_s=1)
    good = maker.chat(inputs=[text("user", "ok")], outputs=[], start_s=2, conversation="p-1")
    response = post(
        live_server, encode_spans([no_content, plain, good]).SerializeToString(), PROTOBUF
    )
    assert response.status_code == 200
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert "without message content" in answer.partial_success.error_message
    assert transcript(get_conversation(live_server, "p-1")) == [("user", "ok")]

    # A conversation id already used by a support ticket refuses its spans alone.
    ticket = {
        "type": "support_ticket",
        "id": "p-2",
        "messages": [{"role": "customer", "content": "x"}],
    }
    headers = {"Authorization": f"Bearer {live_server.project.api_key}"}
    assert httpx.post(f"{live_server.url}/conversations", json=ticket, headers=headers).is_success
    clash = maker.chat(inputs=[text("user", "y")], outputs=[], start_s=3, conversation="p-2")
    response = post(live_server, otlp_json([clash]), {"Content-Type": "application/json"})
    assert response.json()["partialSuccess"]["rejectedSpans"] in ("1", 1)
    assert "support_ticket" in response.json()["partialSuccess"]["errorMessage"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        (b"\xff\xff\xff", PROTOBUF, 400, None),
        (b'{"resourceSpans": [', {"Content-Type": "application/json"}, 400, "body"),
        (b"[1, 2]", {"Content-Type": "application/json"}, 400, "body"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
            {"Content-Type": "application/json"},
            400,
            "resourceSpans[0].scopeSpans[0].spans[0].traceId",
        ),
        (b'{"resourceSpans": 5}', {"Content-Type": "application/json"}, 400, None),
        (b"{}", {"Content-Type": "text/plain"}, 415, None),
        (b"{}", {}, 415, None),
        (b"not gzip", {**PROTOBUF, "Content-Encoding": "gzip"}, 400, "body"),
        (
            b"{}",
            {"Content-Type": "application/json", "Content-Encoding": "br"},
            415,
            "Content-Encoding",
        ),
        (b"x" * (2 * 1024 * 1024 + 1), PROTOBUF, 413, None),
    ],
)
def test_bad_requests_get_problems(
    live_server: LiveServer, body: bytes, headers: dict[str, str], status: int, field: str | None
) -> None:
    response = post(live_server, body, headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["detail"]
    assert problem.get("field") == field


def test_gzip_bomb_is_refused(live_server: LiveServer) -> None:
    bomb = gzip.compress(b"\0" * (17 * 1024 * 1024))
    response = post(live_server, bomb, {**PROTOBUF, "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_a_key_is_needed_and_scopes_the_data(live_server: LiveServer) -> None:
    span = SpanMaker().chat(
        inputs=[text("user", "mine")], outputs=[], start_s=0, conversation="s-1"
    )
    body = encode_spans([span]).SerializeToString()
    anonymous = httpx.post(f"{live_server.url}/v1/traces", content=body, headers=PROTOBUF)
    assert anonymous.status_code == 401
    # A write-only key may send spans.
    web = httpx.post(
        f"{live_server.url}/v1/traces",
        content=body,
        headers={**PROTOBUF, "Authorization": f"Bearer {live_server.project.web_key}"},
    )
    assert web.status_code == 200
    assert transcript(get_conversation(live_server, "s-1")) == [("user", "mine")]
    other = httpx.get(
        f"{live_server.url}/conversations/s-1",
        headers={"Authorization": f"Bearer {live_server.other.api_key}"},
    )
    assert other.status_code == 404
