"""A reference, not a baseline: FastAPI with convoscope's own request models.

The same three routes, parsed and validated exactly as convoscope does and turned into
its records, then nothing: no key check, no storage, a small reply. The distance from
the ``parse_only`` baseline to this is what the web framework and validation cost; the
distance from this to convoscope is what authentication, storage and the reply cost.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at
run time, and these names must resolve where it looks for them.
"""

from typing import Annotated

from fastapi import Body, FastAPI

from convoscope.api import JSONResponse, event_in, feedback_in, to_conversation_in
from convoscope.schemas import CreateConversation, InsertEvent, LogFeedbackRequestBody


def fastapi_floor_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def ready() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.post("/conversations")
    async def conversations(body: Annotated[CreateConversation, Body()]) -> JSONResponse:
        return JSONResponse({"id": to_conversation_in(body).id})

    @app.post("/feedback")
    async def feedback(body: Annotated[LogFeedbackRequestBody, Body()]) -> JSONResponse:
        return JSONResponse({"id": feedback_in(body).id})

    @app.post("/events")
    async def events(body: Annotated[InsertEvent, Body()]) -> JSONResponse:
        return JSONResponse({"id": event_in(body).id})

    return app
