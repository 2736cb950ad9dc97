"""OpenTelemetry intake: GenAI spans sent to ``POST /v1/traces`` become conversations.

The names of ``__all__`` load their module on first use (``convoscope.lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convoscope.lazy import lazy_exports

if TYPE_CHECKING:
    from convoscope.otlp.routes import router

__all__ = [
    "router",
]

if not TYPE_CHECKING:
    __getattr__ = lazy_exports(
        __name__,
        {
            "routes": ("router",),
        },
    )
