"""The HTTP API: one thin router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from convoscope.api import conversations, events, feedback, health


def build_api_router() -> APIRouter:
    router = APIRouter()
    router.include_router(health.router)
    router.include_router(conversations.router)
    router.include_router(feedback.router)
    router.include_router(events.router)
    return router
