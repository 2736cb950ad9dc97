"""Which conversation a call belongs to, and the logger that app-wide helpers use.

``conversation(id=..., user=..., properties=...)`` scopes every instrumented call made
inside it (threads and asyncio tasks each see their own, through ``contextvars``);
``feedback(last=True)`` rates the reply the current scope logged last.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from convoscope.client._base import new_id
from convoscope.client.background import BackgroundLogger

__all__ = [
    "ConversationScope",
    "configure",
    "conversation",
    "current_scope",
    "default_logger",
    "feedback",
]


@dataclass
class ConversationScope:
    """One conversation: its id, who the user is, its properties, its last reply."""

    id: str
    user: str | None = None
    properties: dict[str, Any] | None = None
    user_properties: dict[str, Any] | None = None
    last_message_id: str | None = field(default=None)


_scope: ContextVar[ConversationScope | None] = ContextVar("convoscope_scope", default=None)
# The last reply logged outside any scope, for feedback(last=True) in simple scripts.
_last_reply: ContextVar[str | None] = ContextVar("convoscope_last_reply", default=None)


@contextmanager
def conversation(
    id: str | None = None,
    *,
    user: str | None = None,
    properties: Mapping[str, Any] | None = None,
    user_properties: Mapping[str, Any] | None = None,
) -> Iterator[ConversationScope]:
    """Log the calls made inside as turns of one conversation (a new id when none given)."""
    scope = ConversationScope(
        id or new_id("conv"),
        user,
        dict(properties) if properties is not None else None,
        dict(user_properties) if user_properties is not None else None,
    )
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def current_scope() -> ConversationScope | None:
    return _scope.get()


def remember_reply(scope: ConversationScope | None, message_id: str) -> None:
    if scope is not None:
        scope.last_message_id = message_id
    _last_reply.set(message_id)


_lock = threading.Lock()
_default: BackgroundLogger | None = None


def configure(
    base_url: str | None = None,
    api_key: str | None = None,
    *,
    batch_size: int = 100,
    flush_interval: float = 1.0,
    max_queue: int = 10_000,
    timeout: float | httpx.Timeout | None = None,
) -> BackgroundLogger:
    """Set the server instrumented clients and ``feedback()`` log to; without it they use
    ``CONVOSCOPE_BASE_URL`` and ``CONVOSCOPE_API_KEY``."""
    global _default
    logger = BackgroundLogger(
        base_url,
        api_key,
        batch_size=batch_size,
        flush_interval=flush_interval,
        max_queue=max_queue,
        timeout=timeout,
    )
    with _lock:
        previous, _default = _default, logger
    if previous is not None:
        previous.shutdown(timeout=5.0)
    return logger


def default_logger() -> BackgroundLogger:
    global _default
    logger = _default
    if logger is None:
        with _lock:
            if _default is None:
                _default = BackgroundLogger()
            logger = _default
    return logger


def feedback(
    message_id: str | None = None,
    *,
    last: bool = False,
    type: Literal["positive", "negative"] = "positive",
    reasons: list[Mapping[str, str]] | None = None,
    details: str | None = None,
    properties: Mapping[str, Any] | None = None,
    logger: BackgroundLogger | None = None,
) -> str | None:
    """Log a thumbs up or down on a reply, by id or the last one logged here; the
    message id rated, or None when ``last=True`` found no reply. Never raises."""
    if message_id is None:
        if not last:
            raise TypeError("feedback() needs a message_id, or last=True")
        scope = _scope.get()
        message_id = (scope.last_message_id if scope else None) or _last_reply.get()
        if message_id is None:
            return None
    body: dict[str, Any] = {"type": type, "messageId": message_id}
    if reasons is not None:
        body["reasons"] = [dict(reason) for reason in reasons]
    if details is not None:
        body["details"] = details
    if properties is not None:
        body["properties"] = dict(properties)
    scope = _scope.get()
    if scope is not None and scope.user is not None:
        body["userProperties"] = {"id": scope.user}
    (logger or default_logger()).log_feedback(body)
    return message_id
