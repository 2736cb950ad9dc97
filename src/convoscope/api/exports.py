"""``/query/<resource>/export``: every row a query matches, as CSV (API.md §2.15–2.18).

Declared before the JSON query routes share their prefix; each path is exact, so
``/query/conversations/export`` is never taken for ``/query/conversations``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import StreamingResponse

from convoscope.api.bodies import parse_body, validated_as
from convoscope.api.deps import AppSettings, Db, ReadKey
from convoscope.api.query import KINDS, QueryKind, RawBody, compile_on
from convoscope.api.responses import ClosingStreamingResponse, documented
from convoscope.query import CsvExport, parse_query, unpacked_keys
from convoscope.schemas import QueryResponseBody
from convoscope.settings import Settings
from convoscope.store import Database, Scope

router = APIRouter(tags=["query"])

_CSV: dict[int | str, Any] = {200: {"content": {"text/csv": {}}, "description": "The rows as CSV."}}


async def export_csv(
    db: Database, settings: Settings, scope: Scope, kind: QueryKind, body: dict[str, Any] | None
) -> StreamingResponse:
    query = parse_query(kind.resource, parse_body(kind.model, body))
    # The JSON keys are collected and the query started before the 200 goes out, so a
    # timeout or a database error still answers with a problem. The export holds one of
    # the database's readers until it ends, and gives its connection back then, or as
    # soon as the client leaves.
    chunks = await db.stream_analytics(
        lambda engine: CsvExport(
            engine,
            lambda conn: compile_on(conn, query, scope.project_id),
            unpacked_keys(query),
            settings.query_timeout_seconds,
        )
    )
    return ClosingStreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind.resource.name}-export.csv"'},
    )


def _responses() -> dict[int | str, Any]:
    out = documented(QueryResponseBody)
    out.update(_CSV)
    return out


def _add_export_route(kind: QueryKind) -> None:
    async def handler(
        db: Db, caller: ReadKey, settings: AppSettings, body: RawBody = None
    ) -> StreamingResponse:
        return await export_csv(db, settings, caller.scope, kind, body)

    router.add_api_route(
        f"/query/{kind.path}/export",
        handler,
        methods=["POST"],
        name=f"export_{kind.path.replace('-', '_')}",
        operation_id=validated_as(kind.model, f"export{kind.name}QueryResults"),
        summary=f"Export {kind.article} {kind.path} query as CSV",
        responses=_responses(),
        response_class=StreamingResponse,
    )


for _kind in KINDS:
    _add_export_route(_kind)
