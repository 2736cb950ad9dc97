"""One instrumented call, from its request to the logged upsert of its conversation.

What is logged is what the server stores for an ``openai`` conversation: the full
history sent, plus the reply. OpenAI roles the API does not store (``developer``,
``tool``) are logged as ``system`` messages with the original role in the message's
``properties.openaiRole``; content parts other than text and images become a text part
naming their type. The reply's ``properties`` hold the model, token usage, latency,
time to first token (streams), finish reason and any error.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from convoscope.client._base import new_id
from convoscope.client.background import BackgroundLogger
from convoscope.client.context import current_scope, remember_reply

Wire = dict[str, Any]

# The keyword arguments an instrumented call takes off before calling OpenAI.
KWARGS = ("convoscope_conversation_id", "convoscope_user", "convoscope_properties")


def as_dict(value: Any) -> Wire:
    """A message or part as a dict, whether the caller sent a dict or an OpenAI model."""
    if isinstance(value, Mapping):
        return dict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        dumped: Wire = dump(exclude_none=True, mode="json")
        return dumped
    raise TypeError(f"cannot log a message of type {type(value).__name__}")


def content_of(content: Any) -> str | list[Wire]:
    """Content the API stores: a string, or text and image parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts: list[Wire] = []
    for raw in content if isinstance(content, Iterable) else [content]:
        part: Wire = as_dict(raw) if not isinstance(raw, str) else {"type": "text", "text": raw}
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text"):
            parts.append({"type": "text", "text": str(part.get("text") or "")})
        elif kind == "image_url" and isinstance(part.get("image_url"), Mapping):
            image = part["image_url"]
            parts.append(_image(str(image.get("url")), image.get("detail") or "auto"))
        elif kind == "input_image" and part.get("image_url"):
            parts.append(_image(str(part["image_url"]), part.get("detail") or "auto"))
        elif kind == "refusal":
            parts.append({"type": "text", "text": str(part.get("refusal") or "")})
        else:
            parts.append({"type": "text", "text": f"[{kind}]"})
    return parts


def _image(url: str, detail: str) -> Wire:
    return {"type": "image_url", "image_url": {"url": url, "detail": detail}}


def tool_calls_of(calls: Any) -> list[Wire] | None:
    if not calls:
        return None
    out = []
    for raw in calls:
        call = as_dict(raw)
        function = call.get("function") or {}
        if not function and "custom" in call:  # custom tools carry free-form input
            custom = call["custom"]
            function = {"name": custom.get("name"), "arguments": custom.get("input")}
        out.append(
            {
                "id": str(call.get("id") or ""),
                "type": "function",
                "function": {
                    "name": str(function.get("name") or ""),
                    "arguments": str(function.get("arguments") or ""),
                },
            }
        )
    return out


def chat_message(raw: Any) -> Wire:
    """An OpenAI chat message as a message of an ``openai`` conversation."""
    m = as_dict(raw)
    role = str(m.get("role") or "user")
    message: Wire = {"role": role, "content": content_of(m.get("content"))}
    if role not in ("system", "user", "assistant"):
        message["role"] = "system"
        properties: Wire = {"openaiRole": role}
        if m.get("tool_call_id"):
            properties["tool_call_id"] = m["tool_call_id"]
        message["properties"] = properties
        message["name"] = str(m.get("name") or role)
    elif m.get("name"):
        message["name"] = str(m["name"])
    calls = tool_calls_of(m.get("tool_calls"))
    if calls:
        message["tool_calls"] = calls
    if role == "assistant" and not message["content"] and m.get("refusal"):
        message["content"] = str(m["refusal"])
    return message


class Chains:
    """Which conversation a call continues, when no scope names it.

    A follow-up call sends the previous history and reply again; the digest of that
    prefix, remembered when the reply was logged, gives back the conversation's id.
    Bounded: the oldest chains are forgotten first.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._ids: OrderedDict[str, str] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    @staticmethod
    def digest(messages: list[Wire]) -> str:
        text = json.dumps(
            [(m["role"], m["content"], m.get("tool_calls")) for m in messages],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def find(self, history: list[Wire]) -> str | None:
        for end in range(len(history), 0, -1):
            if history[end - 1]["role"] == "assistant":
                with self._lock:
                    return self._ids.get(self.digest(history[:end]))
        return None

    def remember(self, messages: list[Wire], conversation_id: str) -> None:
        key = self.digest(messages)
        with self._lock:
            self._ids[key] = conversation_id
            self._ids.move_to_end(key)
            while len(self._ids) > self._size:
                self._ids.popitem(last=False)


chains = Chains()


class Turn:
    """A call in flight: its history and scope now, its reply when it ends."""

    def __init__(
        self,
        logger: BackgroundLogger,
        api: str,
        history: list[Wire],
        options: Mapping[str, Any],
        conversation_id: str | None = None,
        after: Callable[[str | None, str, list[Wire]], None] | None = None,
    ) -> None:
        self.after = after
        self.started = time.perf_counter()
        self.first_token: float | None = None
        self.logger = logger
        self.api = api
        self.history = history
        self.scope = current_scope()
        self.user = options.get("convoscope_user") or (self.scope.user if self.scope else None)
        if self.user is None and isinstance(options.get("user"), str):
            self.user = options["user"]
        self.properties = options.get("convoscope_properties")
        self.conversation_id = (
            options.get("convoscope_conversation_id")
            or (self.scope.id if self.scope else None)
            or conversation_id
            or chains.find(history)
            or new_id("conv")
        )
        self.reply_id = new_id("msg")
        self.logged = False

    def token(self) -> None:
        if self.first_token is None:
            self.first_token = time.perf_counter()

    def finish(self, reply: Wire | None, facts: Wire, error: BaseException | None = None) -> None:
        """Log the conversation once; never raises into the call it observes."""
        if self.logged:
            return
        self.logged = True
        try:
            self._log(reply, facts, error)
        except Exception:  # logging must never break the app's call
            pass

    def _log(self, reply: Wire | None, facts: Wire, error: BaseException | None) -> None:
        now = time.perf_counter()
        properties: Wire = {"api": self.api, "latencyMs": round((now - self.started) * 1000, 1)}
        if self.first_token is not None:
            properties["timeToFirstTokenMs"] = round((self.first_token - self.started) * 1000, 1)
        properties.update({k: v for k, v in facts.items() if v is not None})
        if error is not None:
            properties["error"] = {"type": type(error).__name__, "message": str(error)[:500]}
            status = getattr(error, "status_code", None)
            if isinstance(status, int):
                properties["error"]["status"] = status
        messages = list(self.history)
        if reply is None:
            # No reply (the call failed before one): the error sits on the last message.
            if not messages:
                return
            last = dict(messages[-1])
            last["properties"] = {**(last.get("properties") or {}), **properties}
            messages[-1] = last
        else:
            reply = {**reply, "id": self.reply_id, "properties": properties}
            messages.append(reply)
        body: Wire = {"id": self.conversation_id, "type": "openai", "messages": messages}
        scope = self.scope
        conversation_properties = {
            **((scope.properties or {}) if scope else {}),
            **(self.properties or {}),
        }
        if conversation_properties:
            body["properties"] = conversation_properties
        user_properties = dict(scope.user_properties or {}) if scope else {}
        if self.user is not None:
            user_properties.setdefault("id", self.user)
        if user_properties:
            body["userProperties"] = user_properties
        self.logger.log_conversation(body)
        if reply is not None:
            chains.remember(
                [*self.history, {"role": "assistant", "content": reply["content"],
                                 "tool_calls": reply.get("tool_calls")}],
                self.conversation_id,
            )  # fmt: skip
            remember_reply(scope, self.reply_id)
            if self.after is not None:
                self.after(facts.get("responseId"), self.conversation_id, messages)


def take_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the ``convoscope_*`` arguments off the call; a misspelt one is a TypeError,
    raised before anything is sent, as OpenAI would for an unknown argument."""
    ours = {name: kwargs.pop(name) for name in list(kwargs) if name.startswith("convoscope_")}
    unknown = sorted(set(ours) - set(KWARGS))
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}; known: {', '.join(KWARGS)}")
    if "user" in kwargs:
        ours["user"] = kwargs["user"]
    return ours


def usage_facts(usage: Any) -> Wire | None:
    if usage is None:
        return None
    u = as_dict(usage)
    keys = {
        "prompt_tokens": "promptTokens",
        "completion_tokens": "completionTokens",
        "input_tokens": "promptTokens",
        "output_tokens": "completionTokens",
        "total_tokens": "totalTokens",
    }
    return {ours: u[theirs] for theirs, ours in keys.items() if isinstance(u.get(theirs), int)}
