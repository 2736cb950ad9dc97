"""``/query/<resource>/export``: every row a query matches, as CSV (API.md §2.15–2.18).

Declared before the JSON query routes share their prefix; each path is exact, so
``/query/conversations/export`` is never taken for ``/query/conversations``.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter
from starlette.responses import StreamingResponse

from convoscope.api.bodies import parse_request
from convoscope.api.deps import AppSettings, Db, ReadKey
from convoscope.api.query import RawBody, compile_on
from convoscope.api.responses import documented
from convoscope.query.export import CsvExport, unpacked_keys
from convoscope.query.fields import CONVERSATIONS, EVENTS, FEEDBACK, SEMANTIC_THREADS, Resource
from convoscope.schemas.query import (
    QueryResponseBody,
)
from convoscope.settings import Settings
from convoscope.store.database import Database
from convoscope.store.records import Scope

router = APIRouter(tags=["query"])

_CSV: dict[int | str, Any] = {200: {"content": {"text/csv": {}}, "description": "The rows as CSV."}}


async def export_csv(
    db: Database,
    settings: Settings,
    scope: Scope,
    resource: Resource,
    body: dict[str, Any] | None,
) -> StreamingResponse:
    query = parse_request(resource, body)
    export = CsvExport(
        db.analytics_engine(),
        lambda conn: compile_on(conn, query, scope.project_id),
        unpacked_keys(query),
        settings.query_timeout_seconds,
    )
    # The JSON keys are collected and the query started before the 200 goes out, so a
    # timeout or a database error still answers with a problem.
    await to_thread.run_sync(export.prepare)
    return StreamingResponse(
        iter(export),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{resource.name}-export.csv"'},
    )


def _responses() -> dict[int | str, Any]:
    out = documented(QueryResponseBody)
    out.update(_CSV)
    return out


@router.post(
    "/query/conversations/export",
    operation_id="exportConversationsQueryResults",
    summary="Export a conversations query as CSV",
    responses=_responses(),
    response_class=StreamingResponse,
)
async def export_conversations(
    db: Db, caller: ReadKey, settings: AppSettings, body: RawBody = None
) -> StreamingResponse:
    return await export_csv(db, settings, caller.scope, CONVERSATIONS, body)


@router.post(
    "/query/events/export",
    operation_id="exportEventsQueryResults",
    summary="Export an events query as CSV",
    responses=_responses(),
    response_class=StreamingResponse,
)
async def export_events(
    db: Db, caller: ReadKey, settings: AppSettings, body: RawBody = None
) -> StreamingResponse:
    return await export_csv(db, settings, caller.scope, EVENTS, body)


@router.post(
    "/query/feedback/export",
    operation_id="exportFeedbackQueryResults",
    summary="Export a feedback query as CSV",
    responses=_responses(),
    response_class=StreamingResponse,
)
async def export_feedback(
    db: Db, caller: ReadKey, settings: AppSettings, body: RawBody = None
) -> StreamingResponse:
    return await export_csv(db, settings, caller.scope, FEEDBACK, body)


@router.post(
    "/query/semantic-threads/export",
    operation_id="exportSemanticThreadsQueryResults",
    summary="Export a semantic-threads query as CSV",
    responses=_responses(),
    response_class=StreamingResponse,
)
async def export_semantic_threads(
    db: Db, caller: ReadKey, settings: AppSettings, body: RawBody = None
) -> StreamingResponse:
    return await export_csv(db, settings, caller.scope, SEMANTIC_THREADS, body)
