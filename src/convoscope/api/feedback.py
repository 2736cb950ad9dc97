"""``/feedback``: log (upsert), list, get, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from sqlalchemy import Connection

from convoscope.api.deps import AnyKey, Db, Offset, ReadKey
from convoscope.api.responses import JSONResponse, documented
from convoscope.api.wire import conversation_to_wire, feedback_in, feedback_to_wire, message_to_wire
from convoscope.errors import ConvoscopeError
from convoscope.schemas import (
    DeleteResponse,
    FeedbackOut,
    FeedbackWithContext,
    GetAllFeedbackResponse,
    JsonObject,
    LogFeedbackRequestBody,
)
from convoscope.store import Feedback, Scope
from convoscope.store import conversations as conversation_store
from convoscope.store import feedback as store

router = APIRouter(tags=["feedback"])


@router.post(
    "/feedback",
    operation_id="logFeedback",
    summary="Log (upsert) feedback on a message",
    responses=documented(FeedbackOut),
)
async def log_feedback(
    body: Annotated[LogFeedbackRequestBody, Body()], db: Db, caller: AnyKey
) -> JSONResponse:
    """Create feedback, or update the stored feedback when the body's id matches one."""
    data = feedback_in(body)
    stored = await db.write(lambda conn: store.upsert_feedback(conn, caller.scope, data))
    return JSONResponse(feedback_to_wire(stored))


@router.get(
    "/feedback",
    operation_id="getAllFeedback",
    summary="List feedback, newest first, split by type",
    responses=documented(GetAllFeedbackResponse, not_found=True),
)
async def list_feedback(
    db: Db,
    caller: ReadKey,
    limit: Annotated[int | None, Query(ge=0, le=100)] = 10,
    offset: Offset = 0,
) -> JSONResponse:
    page_size = 10 if limit is None else limit

    def read(conn: Connection) -> tuple[dict[str, int], list[JsonObject]]:
        counts, page = store.list_feedback(conn, caller.scope, limit=page_size, offset=offset or 0)
        return counts, feedback_in_context(conn, caller.scope, page)

    counts, items = await db.read(read)
    return JSONResponse(
        {
            "positiveFeedbackCount": counts.get("positive", 0),
            "negativeFeedbackCount": counts.get("negative", 0),
            "positiveFeedback": [f for f in items if f["type"] == "positive"],
            "negativeFeedback": [f for f in items if f["type"] == "negative"],
        }
    )


@router.get(
    "/feedback/{id:path}",
    operation_id="getFeedbackById",
    summary="Get feedback with its conversation and message",
    responses=documented(FeedbackWithContext, not_found=True),
)
async def get_feedback(id: str, db: Db, caller: ReadKey) -> JSONResponse:
    def read(conn: Connection) -> list[JsonObject]:
        return feedback_in_context(conn, caller.scope, [store.get_feedback(conn, caller.scope, id)])

    return JSONResponse((await db.read(read))[0])


@router.delete(
    "/feedback/{id:path}",
    operation_id="deleteFeedbackById",
    summary="Delete feedback",
    responses=documented(DeleteResponse, not_found=True),
)
async def delete_feedback(id: str, db: Db, caller: ReadKey) -> JSONResponse:
    await db.write(lambda conn: store.delete_feedback(conn, caller.scope, id))
    return JSONResponse({"success": True, "message": "Feedback deleted successfully"})


def feedback_in_context(conn: Connection, scope: Scope, items: list[Feedback]) -> list[JsonObject]:
    """Each feedback with its full conversation and the rated message embedded, as the
    reads of ``/feedback`` (and the MCP feedback tools) answer them."""
    found = conversation_store.get_conversations(conn, scope, (f.conversation_id for f in items))
    out = []
    for f in items:
        conversation = found.get(f.conversation_id)
        message = (
            next((m for m in conversation.messages if m.id == f.message_id), None)
            if conversation
            else None
        )
        if conversation is None or message is None:
            # Cannot happen through the API (deleting a conversation deletes its feedback),
            # but a hand-edited database must not produce a response the SDK rejects.
            raise ConvoscopeError(f"feedback {f.id!r} names a message that no longer exists")
        out.append(
            {
                **feedback_to_wire(f),
                "conversation": conversation_to_wire(conversation),
                "message": message_to_wire(conversation.type, message),
            }
        )
    return out
