"""``POST /v1/traces``: OTLP/HTTP trace export; GenAI spans become conversation turns."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.responses import Response

from convoscope.api import AnyKey, AppSettings, Db
from convoscope.otlp.decode import JSON, PROTOBUF, decompress, encode_response, media_type
from convoscope.otlp.decode import parse_request as parse_export
from convoscope.otlp.intake import Outcome, read_turns, write_turns
from convoscope.schemas import Problem

router = APIRouter(tags=["opentelemetry"])

_BODY = {"description": "An ExportTraceServiceRequest (OTLP/HTTP), optionally gzipped."}
_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
            JSON: {"schema": {"type": "object", **_BODY}},
        },
    }
}
_RESPONSES: dict[int | str, Any] = {
    200: {
        "description": "An ExportTraceServiceResponse, in the request's encoding; "
        "partialSuccess counts the GenAI spans that were rejected, and says why.",
        "content": {PROTOBUF: {}, JSON: {}},
    },
    **{status: {"model": Problem} for status in (400, 401, 413, 415, 500)},
}


@router.post(
    "/v1/traces",
    operation_id="exportTraces",
    summary="Ingest OpenTelemetry GenAI spans (OTLP/HTTP)",
    openapi_extra=_OPENAPI,
    responses=_RESPONSES,
    response_class=Response,
)
async def export_traces(
    request: Request, db: Db, caller: AnyKey, settings: AppSettings
) -> Response:
    """Spans whose ``gen_ai.operation.name`` is chat, text_completion or generate_content
    become turns of a conversation; other spans are accepted and ignored."""
    kind = media_type(request.headers.get("content-type"))
    body = decompress(
        await request.body(),
        request.headers.get("content-encoding"),
        settings.otlp_max_decompressed_bytes,
    )
    export = parse_export(body, kind)
    outcome = Outcome()
    turns = read_turns(export.resource_spans, outcome)
    if turns:
        scope = caller.scope
        await db.write(lambda conn: write_turns(conn, scope, turns, outcome))
    response = ExportTraceServiceResponse()
    if outcome.rejected:
        response.partial_success.rejected_spans = outcome.rejected_count
        response.partial_success.error_message = outcome.message()
    return Response(encode_response(response, kind), media_type=kind)
