"""From an OTLP/HTTP request body to an ``ExportTraceServiceRequest``.

OTLP/HTTP carries the request as binary protobuf or as OTLP/JSON, optionally gzipped.
OTLP/JSON differs from protobuf's own JSON mapping in one way that matters: trace and
span ids are hex strings, not base64, so they are rewritten before protobuf parses them.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from convoscope.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def media_type(content_type: str | None) -> str:
    """The body's media type, or 415 for one OTLP/HTTP does not define."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind not in (PROTOBUF, JSON):
        raise UnsupportedMediaType(
            f"Content-Type must be {PROTOBUF} or {JSON} (OTLP/HTTP); got {content_type or 'none'!r}"
        )
    return kind


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body, gunzipped when ``Content-Encoding: gzip``, never past ``limit`` bytes."""
    coding = (encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding != "gzip":
        raise UnsupportedMediaType(
            f"Content-Encoding must be gzip or absent; got {encoding!r}", field="Content-Encoding"
        )
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        # One byte past the limit tells a body that is too large from one that fits.
        out = inflater.decompress(body, limit + 1)
    except zlib.error as err:
        raise InvalidInput(f"the body is not valid gzip: {err}", field="body") from None
    if len(out) > limit:
        raise PayloadTooLarge(limit)
    if not inflater.eof:
        raise InvalidInput("the gzip body ends before its end marker", field="body")
    return out


def parse_request(body: bytes, kind: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as err:
            raise InvalidInput(f"the body is not a valid protobuf request: {err}") from None
        return request
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise InvalidInput(f"the body is not valid JSON: {err}", field="body") from None
    if not isinstance(document, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    _hex_ids_to_base64(document)
    try:
        # Receivers must ignore fields they do not know (OTLP spec, "JSON Protobuf Encoding").
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except json_format.ParseError as err:
        raise InvalidInput(f"the body is not a valid OTLP/JSON request: {err}") from None
    return request


def _hex_ids_to_base64(document: dict[str, Any]) -> None:
    for resource_index, resource in enumerate(_items(document, "resourceSpans")):
        for scope_index, scope in enumerate(_items(resource, "scopeSpans")):
            for span_index, span in enumerate(_items(scope, "spans")):
                at = (
                    f"resourceSpans[{resource_index}].scopeSpans[{scope_index}].spans[{span_index}]"
                )
                _rewrite_ids(span, at)
                for link_index, link in enumerate(_items(span, "links")):
                    _rewrite_ids(link, f"{at}.links[{link_index}]")


def _items(parent: Any, key: str) -> list[Any]:
    if not isinstance(parent, dict):
        return []
    value = parent.get(key)
    if value is None:
        value = parent.get(_snake(key))
    return value if isinstance(value, list) else []


def _snake(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


def _rewrite_ids(item: Any, at: str) -> None:
    if not isinstance(item, dict):
        return
    for key in _ID_KEYS:
        value = item.get(key)
        if not isinstance(value, str) or value == "":
            continue
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise InvalidInput(
                f"{at}.{key} must be a hex string (OTLP/JSON); got {value[:40]!r}",
                field=f"{at}.{key}",
            ) from None
        item[key] = base64.b64encode(raw).decode()


def encode_response(response: ExportTraceServiceResponse, kind: str) -> bytes:
    if kind == PROTOBUF:
        encoded: bytes = response.SerializeToString()
        return encoded
    return json_format.MessageToJson(response, indent=None).encode()


def trace_hex(raw: bytes) -> str:
    return binascii.hexlify(raw).decode()
