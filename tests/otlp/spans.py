"""GenAI spans made by the real OpenTelemetry SDK, kept in memory to be exported at will."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z in nanoseconds


class SpanMaker:
    """A tracer whose finished spans are collected, not sent."""

    def __init__(self, service: str = "docs-bot") -> None:
        self.memory = InMemorySpanExporter()
        self.provider = TracerProvider(resource=Resource.create({"service.name": service}))
        self.provider.add_span_processor(SimpleSpanProcessor(self.memory))
        self.tracer = self.provider.get_tracer("tests")

    def chat(
        self,
        *,
        inputs: list[dict[str, Any]],
        outputs: list[dict[str, Any]],
        start_s: float,
        conversation: str | None = None,
        user: str | None = None,
        error: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ReadableSpan:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.input.messages": orjson.dumps(inputs).decode(),
            "gen_ai.output.messages": orjson.dumps(outputs).decode(),
        }
        if conversation is not None:
            attributes["gen_ai.conversation.id"] = conversation
        if user is not None:
            attributes["user.id"] = user
        attributes.update(extra or {})
        return self.span(attributes, start_s=start_s, error=error)

    def span(
        self,
        attributes: dict[str, Any],
        *,
        start_s: float,
        error: str | None = None,
        events: Sequence[tuple[str, dict[str, Any]]] = (),
    ) -> ReadableSpan:
        start = T0 + int(start_s * 1e9)
        span = self.tracer.start_span("chat gpt-4o-mini", start_time=start, attributes=attributes)
        for name, event_attributes in events:
            span.add_event(name, event_attributes, timestamp=start + 1000)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
            span.set_attribute("error.type", "RateLimitError")
        span.end(end_time=start + 1_500_000_000)
        return self.memory.get_finished_spans()[-1]


def text(role: str, content: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "content": content}], **extra}


def otlp_json(spans: Sequence[ReadableSpan]) -> bytes:
    """The spans as OTLP/JSON: protobuf's JSON mapping with hex trace and span ids.

    Written here because the OTLP/JSON exporter package is not published for this SDK
    version; the spans and their protobuf encoding are the SDK's own.
    """
    document = json_format.MessageToDict(encode_spans(spans))
    for resource in document.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return orjson.dumps(document)
