"""The HTTP API: one thin router per resource.

``wire`` (records to and from the wire models) is imported by parts that serve no HTTP,
the importer and the OTLP intake among them; so the routers, and FastAPI with them, load
only when an app is built (``convoscope import`` started 0.5 s sooner so). The names
below load their module on first use for the same reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convoscope.lazy import lazy_exports

if TYPE_CHECKING:
    from fastapi import APIRouter

    from convoscope.api.bodies import parse_body, parse_request
    from convoscope.api.deps import AnyKey, AppSettings, Db
    from convoscope.api.feedback import feedback_in_context
    from convoscope.api.middleware import RequestContextMiddleware
    from convoscope.api.openapi import install_openapi
    from convoscope.api.problems import install_problem_handlers, render_error
    from convoscope.api.query import compile_on
    from convoscope.api.responses import JSONResponse, documented
    from convoscope.api.unstorable import refuse_unstorable_input
    from convoscope.api.wire import (
        conversation_to_wire,
        event_in,
        event_to_wire,
        feedback_in,
        feedback_to_wire,
        message_to_wire,
        to_conversation_in,
        verification_in,
        verified_thread_to_wire,
    )


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


__all__ = [
    "AnyKey",
    "AppSettings",
    "Db",
    "JSONResponse",
    "RequestContextMiddleware",
    "build_api_routers",
    "compile_on",
    "conversation_to_wire",
    "documented",
    "event_in",
    "event_to_wire",
    "feedback_in",
    "feedback_in_context",
    "feedback_to_wire",
    "install_openapi",
    "install_problem_handlers",
    "message_to_wire",
    "parse_body",
    "parse_request",
    "refuse_unstorable_input",
    "render_error",
    "to_conversation_in",
    "verification_in",
    "verified_thread_to_wire",
]

if not TYPE_CHECKING:
    __getattr__ = lazy_exports(
        __name__,
        {
            "bodies": ("parse_body", "parse_request"),
            "deps": ("AnyKey", "AppSettings", "Db"),
            "feedback": ("feedback_in_context",),
            "middleware": ("RequestContextMiddleware",),
            "openapi": ("install_openapi",),
            "problems": ("install_problem_handlers", "render_error"),
            "query": ("compile_on",),
            "responses": ("JSONResponse", "documented"),
            "unstorable": ("refuse_unstorable_input",),
            "wire": (
                "conversation_to_wire",
                "event_in",
                "event_to_wire",
                "feedback_in",
                "feedback_to_wire",
                "message_to_wire",
                "to_conversation_in",
                "verification_in",
                "verified_thread_to_wire",
            ),
        },
    )
