"""``responses.create``: its input as a history, its output as the reply.

A call that continues another with ``previous_response_id`` is logged with the history
of the one it continues, when that one was logged by this process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from convoscope.openai.turns import Wire, as_dict, chat_message, content_of, usage_facts

API = "responses"

_lock = threading.Lock()
# response id -> (conversation id, history including that response's reply); bounded
_earlier: OrderedDict[str, tuple[str, list[Wire]]] = OrderedDict()
_SIZE = 2_000


def history(kwargs: dict[str, Any]) -> tuple[list[Wire], str | None]:
    """The messages so far and, for a continued response, the conversation's id."""
    messages: list[Wire] = []
    conversation_id = None
    previous = kwargs.get("previous_response_id")
    if isinstance(previous, str):
        with _lock:
            found = _earlier.get(previous)
        if found is not None:
            conversation_id, earlier = found
            messages.extend(earlier)
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    given = kwargs.get("input")
    if isinstance(given, str):
        messages.append({"role": "user", "content": given})
    elif given is not None:
        for raw in given:
            messages.extend(_item(as_dict(raw)))
    return messages, conversation_id


def _item(item: Wire) -> list[Wire]:
    kind = item.get("type", "message")
    if kind == "message" or (kind is None and "role" in item):
        return [chat_message(item)]
    if kind == "function_call":
        call = {"id": item.get("call_id") or item.get("id"), "function": item}
        return [chat_message({"role": "assistant", "content": "", "tool_calls": [call]})]
    if kind == "function_call_output":
        output = item.get("output")
        text = output if isinstance(output, str) else content_of(output)
        tool = {"role": "tool", "content": text, "tool_call_id": item.get("call_id")}
        return [chat_message(tool)]
    return []


def reply(response: Any) -> tuple[Wire | None, Wire]:
    text: list[str] = []
    calls: list[Wire] = []
    for raw in getattr(response, "output", None) or []:
        item = as_dict(raw)
        if item.get("type") == "message":
            for part in item.get("content") or []:
                if part.get("type") == "output_text":
                    text.append(str(part.get("text") or ""))
                elif part.get("type") == "refusal":
                    text.append(str(part.get("refusal") or ""))
        elif item.get("type") == "function_call":
            calls.append(
                {
                    "id": str(item.get("call_id") or item.get("id") or ""),
                    "type": "function",
                    "function": {
                        "name": str(item.get("name") or ""),
                        "arguments": str(item.get("arguments") or ""),
                    },
                }
            )
    message: Wire = {"role": "assistant", "content": "".join(text)}
    if calls:
        message["tool_calls"] = calls
    status = getattr(response, "status", None)
    details = getattr(response, "incomplete_details", None)
    facts: Wire = {
        "model": getattr(response, "model", None),
        "responseId": getattr(response, "id", None),
        "usage": usage_facts(getattr(response, "usage", None)),
        "finishReason": getattr(details, "reason", None) or status,
    }
    return message, facts


def remember(response_id: str | None, conversation_id: str, messages: list[Wire]) -> None:
    if not response_id:
        return
    with _lock:
        _earlier[response_id] = (conversation_id, messages)
        while len(_earlier) > _SIZE:
            _earlier.popitem(last=False)


class Assembler:
    """The reply of a streamed response: the final response when the stream gets to it,
    else the text deltas seen so far."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.final: Any = None
        self.facts: Wire = {"stream": True}

    def add(self, event: Any) -> bool:
        kind = getattr(event, "type", "")
        if kind == "response.output_text.delta":
            self.text.append(str(getattr(event, "delta", "") or ""))
            return True
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = getattr(event, "response", None)
        return kind.endswith(".delta")

    def result(self) -> tuple[Wire | None, Wire]:
        if self.final is not None:
            message, facts = reply(self.final)
            return message, {**facts, **self.facts}
        return {"role": "assistant", "content": "".join(self.text)}, {
            **self.facts,
            "incomplete": True,
        }
