"""Turns merged into conversations, written through the conversation upsert the API uses.

Spans of one conversation arrive in any order, in any number of requests, and again when
an exporter retries. So the stored conversation is a function of the set of turns seen,
not of their order: each message gets an id derived from its conversation, role, content
and how many identical messages precede it in its call, the same message seen in several
calls (a history resent with every call) keeps the earliest time it was seen, and the
messages are ordered by that time. A retried export finds every message already stored
and writes nothing.

One limit follows: when calls resend no history, two identical user messages of one
conversation (a repeated "thanks") are taken for the same message.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import Connection

from convoscope.api import to_conversation_in
from convoscope.errors import ConvoscopeError
from convoscope.otlp.genai import SpanRejected, Turn, attributes, is_genai, read_turn
from convoscope.schemas import CreateOpenAIConversation
from convoscope.store import Conversation, Scope
from convoscope.store import conversations as store
from convoscope.validation import problems_of, summary

_SOURCE = "opentelemetry"


@dataclass(slots=True)
class Outcome:
    """What became of a request's spans: how many were rejected, and why."""

    spans: int = 0
    turns: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected[reason] += count

    @property
    def rejected_count(self) -> int:
        return sum(self.rejected.values())

    def message(self) -> str:
        return "; ".join(f"{n} span(s): {reason}" for reason, n in self.rejected.most_common())


def read_turns(resource_spans: Iterable[Any], outcome: Outcome) -> list[Turn]:
    """The GenAI turns of an export request; other spans are accepted and ignored."""
    turns = []
    for resource_span in resource_spans:
        resource = attributes(resource_span.resource.attributes)
        for scope_span in resource_span.scope_spans:
            for span in scope_span.spans:
                outcome.spans += 1
                span_attributes = attributes(span.attributes)
                if not is_genai(span_attributes):
                    continue
                try:
                    turns.append(read_turn(span, span_attributes, resource))
                except SpanRejected as err:
                    outcome.reject(str(err))
    outcome.turns = len(turns)
    return turns


def write_turns(conn: Connection, scope: Scope, turns: list[Turn], outcome: Outcome) -> None:
    """Merge the turns into their conversations (runs as one job of the writer).

    Everything that can refuse a conversation does so before it writes a row, so one
    refused conversation leaves the others of the batch to commit.
    """
    by_conversation: dict[str, list[Turn]] = defaultdict(list)
    for turn in turns:
        by_conversation[turn.conversation_id].append(turn)
    stored = store.get_conversations(conn, scope, by_conversation)
    for conversation_id, group in by_conversation.items():
        existing = stored.get(conversation_id)
        if existing is not None and existing.type != "openai":
            outcome.reject(
                f"conversation {conversation_id!r} is of type {existing.type!r}, not openai",
                len(group),
            )
            continue
        body = merged_body(conversation_id, existing, group)
        if body is None:  # every message already stored: a retried export
            continue
        try:
            data = to_conversation_in(CreateOpenAIConversation.model_validate(body))
            store.upsert_conversation(conn, scope, data)
        except ValidationError as err:
            problems = problems_of(err.errors(), body)
            outcome.reject(f"conversation {conversation_id!r}: {summary(problems)}", len(group))
        except ConvoscopeError as err:
            outcome.reject(f"conversation {conversation_id!r}: {err.detail}", len(group))


def message_id(conversation_id: str, role: str, content: str, calls: Any, nth: int) -> str:
    key = orjson.dumps([conversation_id, role, content, calls, nth])
    return "msg_otel_" + hashlib.sha256(key).hexdigest()[:32]


def merged_body(
    conversation_id: str, existing: Conversation | None, turns: list[Turn]
) -> dict[str, Any] | None:
    """The conversation's wire body with the turns merged in; None when nothing is new."""
    messages: dict[str, dict[str, Any]] = {}
    if existing is not None:
        for kept in existing.messages:
            messages[kept.id] = {
                "id": kept.id,
                "role": kept.role,
                "content": kept.content,
                "name": kept.name,
                "tool_calls": kept.tool_calls,
                "properties": kept.properties,
                "createdAt": kept.created_at,
                "updatedAt": kept.created_at,
            }
    before = {k: (v["createdAt"], v["properties"]) for k, v in messages.items()}
    for turn in turns:
        seen: Counter[tuple[str, str, str]] = Counter()
        for m in turn.messages:
            calls = orjson.dumps(m.tool_calls).decode() if m.tool_calls else ""
            nth = seen[(m.role, m.content, calls)]
            seen[(m.role, m.content, calls)] += 1
            key = message_id(conversation_id, m.role, m.content, calls, nth)
            found = messages.get(key)
            if found is None:
                messages[key] = {
                    "id": key,
                    "role": m.role,
                    "content": m.content,
                    "name": m.name,
                    "tool_calls": m.tool_calls,
                    "properties": m.properties,
                    "createdAt": m.created_at,
                    "updatedAt": m.created_at,
                }
                continue
            if m.created_at < found["createdAt"]:
                found["createdAt"] = found["updatedAt"] = m.created_at
            if m.properties is not None and _earlier_span(m.properties, found["properties"]):
                found["properties"] = m.properties
    if existing is not None and before == {
        k: (v["createdAt"], v["properties"]) for k, v in messages.items()
    }:
        return None
    ordered = sorted(messages.values(), key=lambda m: (m["createdAt"], m["id"]))
    times = [m["createdAt"] for m in ordered]
    user_properties = existing.user_properties if existing is not None else None
    if not user_properties:
        users = [t.user_id for t in sorted(turns, key=lambda t: t.start) if t.user_id]
        user_properties = {"id": users[0]} if users else None
    properties = {**(existing.properties or {} if existing else {}), **_totals(ordered)}
    return {
        "type": "openai",
        "id": conversation_id,
        "createdAt": min([*times, *([existing.created_at] if existing else [])]),
        "updatedAt": max(times),
        "properties": properties,
        "userProperties": user_properties,
        "messages": [{k: v for k, v in m.items() if v is not None} for m in ordered],
    }


def _earlier_span(new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    """Whether ``new`` should replace ``old``: the same choice whatever the arrival order."""
    if old is None or "spanId" not in old:
        return True
    return str(new.get("spanId", "")) < str(old["spanId"])


def _totals(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The conversation's figures, summed over its calls (their last messages)."""
    calls = [m["properties"] for m in messages if (m.get("properties") or {}).get("spanId")]
    totals: dict[str, Any] = {"source": _SOURCE, "calls": len(calls)}
    for key in ("inputTokens", "outputTokens"):
        values = [c[key] for c in calls if isinstance(c.get(key), int)]
        if values:
            totals[key] = sum(values)
    for key, plural in (("model", "models"), ("provider", "providers")):
        names = sorted({str(c[key]) for c in calls if c.get(key) is not None})
        if names:
            totals[plural] = names
    totals["errors"] = sum(1 for c in calls if c.get("error"))
    return totals
