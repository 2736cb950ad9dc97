"""GenAI spans read as conversation turns (OpenTelemetry semantic conventions for GenAI).

A span whose ``gen_ai.operation.name`` is ``chat``, ``text_completion`` or
``generate_content`` is one model call: its input messages (often the whole history so
far) and its output messages. The messages are read from, in order of preference:

- ``gen_ai.system_instructions``, ``gen_ai.input.messages`` and ``gen_ai.output.messages``
  (JSON, the current conventions);
- ``gen_ai.prompt.N.role|content`` and ``gen_ai.completion.N.role|content|finish_reason``
  (the flattened attributes older instrumentations still emit);
- span events: ``gen_ai.{system,user,assistant}.message`` and ``gen_ai.choice``, or
  ``gen_ai.content.prompt`` / ``gen_ai.content.completion`` carrying JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

GENAI_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
_LEGACY = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.(role|content|finish_reason)$")
_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
}
# Per-call facts copied to the turn's properties: attribute -> property key.
_FACTS = {
    "gen_ai.operation.name": "operation",
    "gen_ai.request.model": "requestModel",
    "gen_ai.response.model": "model",
    "gen_ai.response.id": "responseId",
    "gen_ai.request.temperature": "temperature",
    "gen_ai.request.max_tokens": "maxTokens",
    "gen_ai.agent.name": "agentName",
    "server.address": "serverAddress",
}


class SpanRejected(Exception):
    """A GenAI span that cannot become a turn; the message says why."""


@dataclass(slots=True)
class TurnMessage:
    role: str
    content: str
    created_at: datetime
    tool_calls: list[dict[str, Any]] | None = None
    name: str | None = None
    properties: dict[str, Any] | None = None


@dataclass(slots=True)
class Turn:
    """One GenAI span: a model call within a conversation."""

    conversation_id: str
    start: datetime
    end: datetime
    messages: list[TurnMessage]
    user_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


def attributes(items: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in items}


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def is_genai(span_attributes: Mapping[str, Any]) -> bool:
    return span_attributes.get("gen_ai.operation.name") in GENAI_OPERATIONS


def read_turn(span: Span, span_attributes: Mapping[str, Any], resource: Mapping[str, Any]) -> Turn:
    """The turn a GenAI span records; ``SpanRejected`` when it carries no messages."""
    start = _time(span.start_time_unix_nano)
    end = _time(span.end_time_unix_nano or span.start_time_unix_nano)
    if end < start:
        end = start
    inputs, outputs = _messages(span, span_attributes)
    if not inputs and not outputs:
        raise SpanRejected(
            "a GenAI span without message content (enable content capture in the "
            "instrumentation, e.g. OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)"
        )
    # Input messages at the call's start, in order; outputs at its end. A microsecond
    # apart, so that sorting merged turns by time keeps each call's order.
    timed = [(m, start + timedelta(microseconds=i)) for i, m in enumerate(inputs)]
    timed += [(m, end + timedelta(microseconds=i)) for i, m in enumerate(outputs)]
    messages = [m for m in (_message(raw, at) for raw, at in timed) if m is not None]
    if not messages:
        raise SpanRejected("a GenAI span whose messages have no system, user or assistant role")
    properties = _properties(span, span_attributes, resource, start, end, outputs)
    messages[-1].properties = properties
    return Turn(
        conversation_id=_conversation_id(span, span_attributes, resource),
        start=start,
        end=end,
        messages=messages,
        user_id=_first_str(span_attributes, resource, "user.id", "enduser.id"),
        properties=properties,
    )


def _time(nanos: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanos // 1000)


def _conversation_id(span: Span, attrs: Mapping[str, Any], resource: Mapping[str, Any]) -> str:
    found = _first_str(attrs, resource, "gen_ai.conversation.id", "session.id")
    if found:
        return found[:512]
    return span.trace_id.hex()


def _first_str(attrs: Mapping[str, Any], resource: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        for source in (attrs, resource):
            value = source.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)
    return None


# Messages are normalised to {"role", "content", "tool_calls"?, "name"?, "finish_reason"?}.
Raw = dict[str, Any]


def _messages(span: Span, attrs: Mapping[str, Any]) -> tuple[list[Raw], list[Raw]]:
    if "gen_ai.input.messages" in attrs or "gen_ai.output.messages" in attrs:
        inputs = [_current(m) for m in _json_list(attrs.get("gen_ai.input.messages"))]
        system = _json_list(attrs.get("gen_ai.system_instructions"))
        if system:
            inputs.insert(0, {"role": "system", "content": _text(system)})
        outputs = [_current(m) for m in _json_list(attrs.get("gen_ai.output.messages"))]
        return inputs, outputs
    legacy = _legacy(attrs)
    if legacy != ([], []):
        return legacy
    return _from_events(span)


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise SpanRejected("a GenAI messages attribute is not valid JSON") from None
    if isinstance(value, dict):
        value = [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _current(message: Raw) -> Raw:
    """A message of ``gen_ai.input.messages`` / ``output.messages``: a role and parts."""
    parts = message.get("parts")
    out: Raw = {"role": message.get("role"), "name": message.get("name")}
    if isinstance(parts, list):
        out["content"] = _text(parts)
        calls = [p for p in parts if isinstance(p, dict) and p.get("type") == "tool_call"]
        if calls:
            out["tool_calls"] = [_tool_call(c) for c in calls]
    else:
        out["content"] = _text(message.get("content"))
    if message.get("finish_reason") is not None:
        out["finish_reason"] = message["finish_reason"]
    return out


def _text(parts: Any) -> str:
    """Text of a content value: a string, or the text parts of a list joined by lines."""
    if parts is None:
        return ""
    if isinstance(parts, str):
        return parts
    if isinstance(parts, list):
        texts = []
        for part in parts:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") in ("text", "reasoning"):
                text = part.get("content", part.get("text"))
                if isinstance(text, str) and part.get("type") != "reasoning":
                    texts.append(text)
        return "\n".join(texts)
    return orjson.dumps(parts).decode()


def _tool_call(part: Raw) -> dict[str, Any]:
    arguments = part.get("arguments")
    if not isinstance(arguments, str):
        arguments = orjson.dumps(arguments if arguments is not None else {}).decode()
    return {
        "id": str(part.get("id") or ""),
        "type": "function",
        "function": {"name": str(part.get("name") or ""), "arguments": arguments},
    }


def _legacy(attrs: Mapping[str, Any]) -> tuple[list[Raw], list[Raw]]:
    found: dict[str, dict[int, Raw]] = {"prompt": {}, "completion": {}}
    for key, value in attrs.items():
        match = _LEGACY.match(key)
        if match:
            kind, index, leaf = match.groups()
            found[kind].setdefault(int(index), {})[leaf] = value
    inputs = [found["prompt"][i] for i in sorted(found["prompt"])]
    outputs = [{"role": "assistant", **found["completion"][i]} for i in sorted(found["completion"])]
    return [_plain(m) for m in inputs], [_plain(m) for m in outputs]


def _plain(message: Raw) -> Raw:
    """A message with a plain ``content`` (legacy attributes and events)."""
    out: Raw = {"role": message.get("role"), "content": _text(message.get("content"))}
    calls = message.get("tool_calls")
    if isinstance(calls, str):
        calls = _json_list(calls)
    if isinstance(calls, list) and calls:
        out["tool_calls"] = [_legacy_call(c) for c in calls if isinstance(c, dict)]
    if message.get("finish_reason") is not None:
        out["finish_reason"] = message["finish_reason"]
    return out


def _legacy_call(call: Raw) -> dict[str, Any]:
    function = call.get("function") if isinstance(call.get("function"), dict) else call
    assert isinstance(function, dict)
    return _tool_call(
        {"id": call.get("id"), "name": function.get("name"), "arguments": function.get("arguments")}
    )


def _from_events(span: Span) -> tuple[list[Raw], list[Raw]]:
    inputs: list[Raw] = []
    outputs: list[Raw] = []
    for event in span.events:
        attrs = attributes(event.attributes)
        if event.name in _EVENT_ROLES:
            inputs.append(_plain({"role": _EVENT_ROLES[event.name], **attrs}))
        elif event.name == "gen_ai.choice":
            message = attrs.get("message")
            if isinstance(message, str):
                message = (_json_list(message) or [{}])[0]
            body = message if isinstance(message, dict) else {"content": attrs.get("content")}
            outputs.append(
                _plain({"role": "assistant", **body, "finish_reason": attrs.get("finish_reason")})
            )
        elif event.name == "gen_ai.content.prompt":
            inputs.extend(_plain(m) for m in _json_list(attrs.get("gen_ai.prompt")))
        elif event.name == "gen_ai.content.completion":
            completions = _json_list(attrs.get("gen_ai.completion"))
            outputs.extend(_plain({"role": "assistant", **m}) for m in completions)
    return inputs, outputs


def _message(raw: Raw, at: datetime) -> TurnMessage | None:
    role = _ROLES.get(str(raw.get("role") or "").lower())
    if role is None:  # tool results and unknown roles have no place in an openai log
        return None
    calls = raw.get("tool_calls") if role == "assistant" else None
    name = raw.get("name")
    return TurnMessage(
        role=role,
        content=str(raw.get("content") or ""),
        created_at=at,
        tool_calls=calls or None,
        name=name if isinstance(name, str) and name else None,
    )


def _properties(
    span: Span,
    attrs: Mapping[str, Any],
    resource: Mapping[str, Any],
    start: datetime,
    end: datetime,
    outputs: list[Raw],
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": span.trace_id.hex(),
        "spanId": span.span_id.hex(),
        "latencyMs": round((end - start).total_seconds() * 1000, 3),
    }
    for attribute, key in _FACTS.items():
        if attrs.get(attribute) is not None:
            out[key] = attrs[attribute]
    provider = attrs.get("gen_ai.provider.name", attrs.get("gen_ai.system"))
    if provider is not None:
        out["provider"] = provider
    if "model" not in out and "requestModel" in out:
        out["model"] = out["requestModel"]
    input_tokens = attrs.get("gen_ai.usage.input_tokens", attrs.get("gen_ai.usage.prompt_tokens"))
    output_tokens = attrs.get(
        "gen_ai.usage.output_tokens", attrs.get("gen_ai.usage.completion_tokens")
    )
    if isinstance(input_tokens, int):
        out["inputTokens"] = input_tokens
    if isinstance(output_tokens, int):
        out["outputTokens"] = output_tokens
    reasons = attrs.get("gen_ai.response.finish_reasons")
    if reasons is None:
        reasons = [m["finish_reason"] for m in outputs if m.get("finish_reason")] or None
    if reasons is not None:
        out["finishReasons"] = reasons if isinstance(reasons, list) else [reasons]
    if span.status.code == Status.STATUS_CODE_ERROR or attrs.get("error.type"):
        out["error"] = {
            "type": str(attrs.get("error.type") or "error"),
            "message": span.status.message or None,
        }
    service = resource.get("service.name")
    if isinstance(service, str):
        out["serviceName"] = service
    return out
