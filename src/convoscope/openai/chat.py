"""``chat.completions.create``: its history, its reply, and a reply assembled from a stream."""

from __future__ import annotations

from typing import Any

from convoscope.openai.turns import Wire, as_dict, chat_message, tool_calls_of, usage_facts

API = "chat.completions"


def history(kwargs: dict[str, Any]) -> list[Wire]:
    return [chat_message(m) for m in kwargs.get("messages") or []]


def reply(completion: Any) -> tuple[Wire | None, Wire]:
    choices = getattr(completion, "choices", None) or []
    facts: Wire = {
        "model": getattr(completion, "model", None),
        "responseId": getattr(completion, "id", None),
        "usage": usage_facts(getattr(completion, "usage", None)),
    }
    if not choices:
        return None, facts
    first = choices[0]
    facts["finishReason"] = getattr(first, "finish_reason", None)
    if len(choices) > 1:
        facts["choices"] = len(choices)
    message = chat_message(first.message)
    message["role"] = "assistant"
    return message, facts


class Assembler:
    """The reply of a stream, from its chunks: text and tool calls of the first choice.

    Tool calls arrive as deltas keyed by ``index``: the first delta of a call carries its
    id and name, later ones pieces of its arguments; text may come before, between or
    after them.
    """

    def __init__(self) -> None:
        self.text: list[str] = []
        self.refusal: list[str] = []
        self.calls: dict[int, Wire] = {}
        self.facts: Wire = {"stream": True}
        self.done = False

    def add(self, chunk: Any) -> bool:
        """Take one chunk; True when it carried part of the reply (for time to first token)."""
        self.facts["model"] = getattr(chunk, "model", None) or self.facts.get("model")
        self.facts["responseId"] = getattr(chunk, "id", None) or self.facts.get("responseId")
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.facts["usage"] = usage_facts(usage)
        token = False
        for choice in getattr(chunk, "choices", None) or []:
            if getattr(choice, "index", 0) != 0:
                continue
            delta = choice.delta
            if delta is not None:
                if delta.content:
                    self.text.append(delta.content)
                    token = True
                if getattr(delta, "refusal", None):
                    self.refusal.append(delta.refusal)
                    token = True
                for raw in getattr(delta, "tool_calls", None) or []:
                    self._add_call(as_dict(raw))
                    token = True
            if choice.finish_reason:
                self.facts["finishReason"] = choice.finish_reason
                self.done = True
        return token

    def _add_call(self, delta: Wire) -> None:
        call = self.calls.setdefault(
            int(delta.get("index") or 0),
            {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
        )
        if delta.get("id"):
            call["id"] = delta["id"]
        function = delta.get("function") or {}
        if function.get("name"):
            call["function"]["name"] += function["name"]
        if function.get("arguments"):
            call["function"]["arguments"] += function["arguments"]

    def result(self) -> tuple[Wire | None, Wire]:
        message: Wire = {"role": "assistant", "content": "".join(self.text)}
        if not self.text and self.refusal:
            message["content"] = "".join(self.refusal)
        calls = tool_calls_of([self.calls[i] for i in sorted(self.calls)])
        if calls:
            message["tool_calls"] = calls
        facts = dict(self.facts)
        if not self.done:
            facts["incomplete"] = True
        return message, facts
