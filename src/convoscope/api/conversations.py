"""``/conversations``: log (upsert), list, get, get by external id, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request

from convoscope.api.deps import AnyKey, Db, Offset, ReadKey
from convoscope.api.responses import JSONResponse, documented
from convoscope.api.wire import conversation_to_wire, to_conversation_in
from convoscope.auth import require_read
from convoscope.schemas import ConversationOut, ConversationPage, CreateConversation, DeleteResponse
from convoscope.store import conversations as store

router = APIRouter(tags=["conversations"])


@router.post(
    "/conversations",
    operation_id="logConversation",
    summary="Log (upsert) a conversation",
    responses=documented(ConversationOut),
)
async def log_conversation(
    body: Annotated[CreateConversation, Body()], db: Db, caller: AnyKey
) -> JSONResponse:
    """Create a conversation, or replace a stored one's messages with the full history sent."""
    data = to_conversation_in(body)
    stored = await db.write(lambda conn: store.upsert_conversation(conn, caller.scope, data))
    return JSONResponse(conversation_to_wire(stored))


@router.get(
    "/conversations",
    operation_id="getAllConversation",
    summary="List conversations, newest first",
    responses=documented(ConversationPage, not_found=True),
)
async def list_conversations(
    db: Db,
    caller: ReadKey,
    limit: Annotated[int | None, Query(ge=0, le=100)] = 20,
    offset: Offset = 0,
) -> JSONResponse:
    page_size = 20 if limit is None else limit
    skip = offset or 0
    total, page = await db.read(
        lambda conn: store.list_conversations(conn, caller.scope, limit=page_size, offset=skip)
    )
    return JSONResponse(
        {
            "conversations": [conversation_to_wire(c) for c in page],
            "total": total,
            "pageSize": page_size,
            "count": len(page),
        }
    )


# Registered before /conversations/{id} so that it wins; ids containing '/' arrive
# decoded, hence the :path converters.
@router.get(
    "/conversations/external/{externalId:path}",
    operation_id="getConversationByExternalId",
    summary="Get the conversation with an external id",
    responses=documented(ConversationOut, not_found=True),
)
async def get_conversation_by_external_id(
    externalId: str, request: Request, db: Db, caller: AnyKey
) -> JSONResponse:
    if not request.scope.get("raw_path", b"").startswith(b"/conversations/external/"):
        # An id that itself starts with "external/" (sent as external%2F…), not this route.
        return await get_conversation(f"external/{externalId}", db, caller)
    require_read(caller)
    found = await db.read(
        lambda conn: store.get_conversation_by_external_id(conn, caller.scope, externalId)
    )
    return JSONResponse(conversation_to_wire(found))


@router.get(
    "/conversations/{id:path}",
    operation_id="getConversation",
    summary="Get a conversation",
    responses=documented(ConversationOut, not_found=True),
)
async def get_conversation(id: str, db: Db, caller: AnyKey) -> JSONResponse:
    found = await db.read(lambda conn: store.get_conversation(conn, caller.scope, id))
    return JSONResponse(conversation_to_wire(found))


@router.delete(
    "/conversations/{id:path}",
    operation_id="deleteConversation",
    summary="Delete a conversation with its messages, their feedback and its events",
    responses=documented(DeleteResponse, not_found=True),
)
async def delete_conversation(id: str, db: Db, caller: AnyKey) -> JSONResponse:
    await db.write(lambda conn: store.delete_conversation(conn, caller.scope, id))
    return JSONResponse({"success": True, "message": "Conversation deleted successfully"})
