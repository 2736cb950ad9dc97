"""The HTTP API: one thin router per resource."""

from __future__ import annotations

from fastapi import APIRouter

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


def build_api_routers() -> list[APIRouter]:
    """The routers, to include on the app one by one: each level of nesting costs route
    matching time on every request."""
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
