"""``/events``: log an interaction with a message, a conversation or a search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from convoscope.api.deps import AnyKey, Db
from convoscope.api.responses import JSONResponse, documented
from convoscope.api.wire import event_in, event_to_wire
from convoscope.schemas import InsertEvent, SelectEvent
from convoscope.store import events as store

router = APIRouter(tags=["events"])


@router.post(
    "/events",
    operation_id="logEvent",
    summary="Log an event",
    responses=documented(SelectEvent),
)
async def log_event(body: Annotated[InsertEvent, Body()], db: Db, caller: AnyKey) -> JSONResponse:
    """Store an event. The message or conversation it names may be logged later."""
    data = event_in(body)
    stored = await db.write(lambda conn: store.insert_event(conn, caller.scope, data))
    return JSONResponse(event_to_wire(stored))
