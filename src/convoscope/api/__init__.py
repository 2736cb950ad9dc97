"""The HTTP API: one thin router per resource.

``wire`` (records to and from the wire models) is imported by parts that serve no HTTP,
the importer and the OTLP intake among them; so the routers, and FastAPI with them, load
only when an app is built (``convoscope import`` started 0.5 s sooner so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter


def build_api_routers() -> list[APIRouter]:
    """The routers, to include on the app one by one: each level of nesting costs route
    matching time on every request."""
    from convoscope.api import (
        conversations,
        events,
        exports,
        feedback,
        health,
        privacy,
        query,
        threads,
    )

    return [
        health.router,
        conversations.router,
        feedback.router,
        events.router,
        exports.router,
        query.router,
        threads.router,
        privacy.router,
    ]
