"""Builders for request bodies and stored data, so tests say only what matters to them."""

from __future__ import annotations

from typing import Any


def openai_conversation(
    conversation_id: str | None = None, *, turns: int = 1, **fields: Any
) -> dict[str, Any]:
    """An openai conversation body with ``turns`` question/answer pairs."""
    messages: list[dict[str, Any]] = []
    for turn in range(turns):
        messages.append({"role": "user", "content": f"question {turn}"})
        messages.append({"role": "assistant", "content": f"answer {turn}"})
    body: dict[str, Any] = {"type": "openai", "messages": messages, **fields}
    if conversation_id is not None:
        body["id"] = conversation_id
    return body


def support_conversation(
    conversation_id: str | None = None, *, kind: str = "support_ticket", **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": kind,
        "messages": [
            {"role": "customer", "content": "My export fails"},
            {"role": "agent", "content": None},
        ],
        **fields,
    }
    if conversation_id is not None:
        body["id"] = conversation_id
    return body
