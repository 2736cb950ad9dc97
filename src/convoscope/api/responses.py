"""JSON responses serialized with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from convoscope.schemas import Problem


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ClosingStreamingResponse(StreamingResponse):
    """A stream that closes its iterator however it ends: when the client leaves part-way,
    what the iterator holds (an export's connection) is given back then, not whenever
    the garbage collector gets to it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()


def documented(model: type[BaseModel], *, not_found: bool = False) -> dict[int | str, Any]:
    """The OpenAPI ``responses`` of an operation: its 200 model and its problem statuses."""
    return {200: {"model": model}, **problems(not_found=not_found)}


def problems(*, not_found: bool = False) -> dict[int | str, Any]:
    """The problem statuses an operation answers with, for its OpenAPI ``responses``."""
    statuses = (400, 401, 403, 404, 422, 500, 503) if not_found else (400, 401, 403, 422, 500, 503)
    return {status: {"model": Problem} for status in statuses}
