"""The HTTP API: one thin router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from convoscope.api import conversations, health


def build_api_router() -> APIRouter:
    router = APIRouter()
    router.include_router(health.router)
    router.include_router(conversations.router)
    return router
