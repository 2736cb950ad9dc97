"""OpenTelemetry intake: GenAI spans sent to ``POST /v1/traces`` become conversations."""

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
