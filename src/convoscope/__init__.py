"""convoscope: self-hosted analytics for AI-assistant conversations.

The names below are for apps that log to a convoscope server; each is imported on first
use, so ``import convoscope`` loads neither the server nor the ``openai`` package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["configure", "conversation", "feedback", "instrument"]

if TYPE_CHECKING:
    from convoscope.client.context import configure, conversation, feedback
    from convoscope.openai import instrument


def __getattr__(name: str) -> Any:
    if name in ("configure", "conversation", "feedback"):
        from convoscope.client import context

        return getattr(context, name)
    if name == "instrument":
        from convoscope.openai import instrument

        return instrument
    raise AttributeError(f"module 'convoscope' has no attribute {name!r}")
