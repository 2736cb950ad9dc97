"""One line of an import file, validated by the API's request models, as store records.

A line is told apart by its keys: ``conversation`` (an export line), ``event`` (an export's
event of no conversation), ``type`` (a ``POST /conversations`` body) or ``messages`` alone
(an OpenAI chat line, as fine-tuning and eval files hold them). What a line leaves out
that an upsert needs to be repeatable is derived from the line's content and number:
importing the same file again gives the same ids, so it changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from pydantic import ValidationError

from convoscope.annotation_names import WIRE_TO_COLUMN
from convoscope.api import event_in, feedback_in, to_conversation_in
from convoscope.schemas import (
    EventLine,
    ExportLine,
    create_conversation_adapter,
    event_line_adapter,
    export_line_adapter,
)
from convoscope.store import ConversationIn, EventIn, FeedbackIn
from convoscope.store.threads import USER_ROLES, thread_id
from convoscope.store.transfer import ThreadState
from convoscope.transfer.encode import ANNOTATION_WIRE
from convoscope.validation import and_more, problems_of

# OpenAI's roles as an openai conversation holds them; tool results have no place there
# (as in the OpenTelemetry intake) and are left out.
_OPENAI_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
}
_SKIPPED_ROLES = {"tool", "function"}


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that was not imported, and why: the field at fault, as the API names it."""

    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"line {self.line}: {where}{self.message}"


@dataclass(slots=True)
class Item:
    """What one line imports: a conversation with what hangs off it, or a lone event."""

    line: int
    conversation: ConversationIn | None
    feedback: list[tuple[FeedbackIn, str | None]] = field(default_factory=list)
    events: list[EventIn] = field(default_factory=list)
    threads: list[ThreadState] = field(default_factory=list)


def parse_line(number: int, text: bytes) -> Item | BadLine:
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        return BadLine(number, None, f"not JSON: {err}")
    if not isinstance(raw, dict):
        return BadLine(number, None, "must be a JSON object")
    try:
        if "conversation" in raw:
            return _export_item(number, export_line_adapter.validate_python(raw))
        if "event" in raw:
            return _event_item(number, event_line_adapter.validate_python(raw))
        if "type" in raw:
            return _body_item(number, text, raw)
        if "messages" in raw:
            return _openai_item(number, text, raw)
    except ValidationError as err:
        return _bad(number, err, raw)
    return BadLine(
        number,
        None,
        'must be an export line ({"conversation": …}), a POST /conversations body '
        '({"type": …, "messages": […]}) or an OpenAI chat line ({"messages": […]})',
    )


def derive_message_ids(data: ConversationIn) -> ConversationIn:
    """Give the messages that have none an id from their conversation and position.

    In place: the records are this line's own, and copying each cost more than deriving.
    """
    assert data.id is not None
    for position, m in enumerate(data.messages):
        if m.id is None:
            m.id = _digest("msg", data.id, str(position))
    return data


def _export_item(number: int, line: ExportLine) -> Item | BadLine:
    conversation = to_conversation_in(line.conversation)
    if conversation.id is None:
        return BadLine(number, "conversation.id", "is required in an export line")
    owner = conversation.id
    feedback = [
        (replace(feedback_in(f), id=f.id or _digest("fb", owner, str(i))), f.integrationId)
        for i, f in enumerate(line.feedback)
    ]
    events = []
    for i, e in enumerate(line.events):
        record = replace(event_in(e), id=e.id or _digest("evt", owner, str(i)))
        if record.entity_type == "message":  # as stored with its conversation
            record = replace(record, conversation_id=owner)
        events.append(record)
    derived = {
        thread_id(owner, m.id)
        for m in conversation.messages
        if m.role in USER_ROLES and m.id is not None
    }
    threads = []
    for i, t in enumerate(line.threads):
        if t.id not in derived:
            return BadLine(
                number,
                f"threads[{i}].id",
                f"{t.id!r} is not a thread of this conversation's messages",
            )
        unknown = [name for name in t.verifiedFields or () if name not in WIRE_TO_COLUMN]
        if unknown:
            return BadLine(number, f"threads[{i}].verifiedFields", f"unknown field {unknown[0]!r}")
        values: dict[str, Any] = {
            column: getattr(t.annotations, wire) for wire, column in ANNOTATION_WIRE.items()
        }
        values["annotated_by"] = t.annotatedBy
        if t.verifiedFields is not None:
            values["verified_fields"] = [WIRE_TO_COLUMN[name] for name in t.verifiedFields]
        else:
            values["verified_fields"] = None
        threads.append(ThreadState(t.id, owner, t.status, t.attempts, t.error, values))
    return Item(number, conversation, feedback, events, threads)


def _event_item(number: int, line: EventLine) -> Item:
    record = event_in(line.event)
    if record.id is None:
        record = replace(record, id=_digest("evt", f"line {number}", "0"))
    return Item(number, None, events=[record])


def _body_item(number: int, text: bytes, raw: dict[str, Any]) -> Item:
    conversation = to_conversation_in(create_conversation_adapter.validate_python(raw))
    if conversation.id is None:
        conversation.id = _line_id(number, text)
    return Item(number, conversation)


def _openai_item(number: int, text: bytes, raw: dict[str, Any]) -> Item | BadLine:
    sent = raw["messages"]
    if not isinstance(sent, list):
        return BadLine(number, "messages", "must be an array")
    kept: list[dict[str, Any]] = []
    positions: list[int] = []  # each kept message's index in the line
    for index, message in enumerate(sent):
        if not isinstance(message, dict):
            return BadLine(number, f"messages[{index}]", "must be an object")
        role = message.get("role")
        if role in _SKIPPED_ROLES:
            continue
        if role not in _OPENAI_ROLES:
            return BadLine(
                number,
                f"messages[{index}].role",
                f"must be one of {', '.join(sorted([*_OPENAI_ROLES, *_SKIPPED_ROLES]))}",
            )
        # An assistant message that only calls tools has null content in OpenAI's format.
        content = message.get("content")
        kept.append({**message, "role": _OPENAI_ROLES[role], "content": content or ""})
        positions.append(index)
    if not kept:
        return BadLine(number, "messages", "holds no system, user or assistant message")
    body: dict[str, Any] = {"type": "openai", "id": _line_id(number, text), "messages": kept}
    if raw.get("metadata") is not None:
        body["properties"] = raw["metadata"]
    try:
        checked = create_conversation_adapter.validate_python(body)
    except ValidationError as err:
        bad = _bad(number, err, body)
        if bad.field is not None and bad.field.startswith("messages["):
            at, _, rest = bad.field.removeprefix("messages[").partition("]")
            bad = replace(bad, field=f"messages[{positions[int(at)]}]{rest}")
        elif bad.field is not None and bad.field.startswith("properties"):
            bad = replace(bad, field="metadata" + bad.field.removeprefix("properties"))
        return bad
    return Item(number, to_conversation_in(checked))


def _line_id(number: int, text: bytes) -> str:
    return _digest("conv", str(number), text.strip().decode(errors="replace"))


def _digest(prefix: str, *parts: str) -> str:
    return f"{prefix}_{hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:32]}"


def _bad(number: int, err: ValidationError, given: Any) -> BadLine:
    """The line's first field at fault, worded as the API words it for the same body."""
    problems = problems_of(err.errors(), given)
    if not problems:
        return BadLine(number, None, "invalid")
    return BadLine(number, problems[0].field or None, problems[0].message + and_more(problems))
