"""Every error leaves the server here, as ``application/problem+json``.

Routers and the store raise ``ConvoscopeError``s and never shape error bodies themselves.
An unexpected exception is logged with its request id; the client sees only that id.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from convoscope.errors import ConvoscopeError, InvalidInput, ServiceUnavailable
from convoscope.validation import invalid_input, problems_of

log = logging.getLogger("convoscope.errors")

_TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
}
_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    field: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
        "error": {"code": code, "message": _short(detail)},
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["requestId"] = request_id
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def render_error(request: Request, err: ConvoscopeError) -> Response:
    headers = None
    if isinstance(err, ServiceUnavailable) and err.retry_after is not None:
        headers = {"Retry-After": str(err.retry_after)}
    return problem_response(
        request,
        status=err.status,
        code=err.code,
        title=err.title,
        detail=err.detail,
        field=err.field,
        errors=err.errors,
        headers=headers,
    )


def unexpected_error(request: Request, exc: BaseException) -> Response:
    """The 500 for an exception nothing expected: its request id, never its traceback."""
    request_id = getattr(request.state, "request_id", "?")
    log.error("unexpected error in request %s", request_id, exc_info=exc)
    return problem_response(
        request,
        status=500,
        code="internal_server_error",
        title="Internal Server Error",
        detail=f"internal error; quote request id {request_id} when reporting it",
    )


def invalid_input_from(err: RequestValidationError) -> InvalidInput:
    """One InvalidInput naming the first field at fault in a request, and listing all."""
    return invalid_input(problems_of(err.errors(), {"body": err.body}, roots=_ROOTS))


# Where FastAPI found what failed; the field path leaves them out.
_ROOTS = ("body", "query", "path", "header", "cookie")


def _short(detail: str) -> str:
    return detail if len(detail) <= 100 else detail[:97] + "..."


def install_problem_handlers(app: FastAPI) -> None:
    async def on_convoscope_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConvoscopeError)
        # A 503 is the server shedding load or already logged by the writer: not news.
        if exc.status >= 500 and not isinstance(exc, ServiceUnavailable):
            log.error("request %s failed: %s", getattr(request.state, "request_id", "?"), exc)
        return render_error(request, exc)

    async def on_request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return render_error(request, invalid_input_from(exc))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if isinstance(exc.__cause__, ConvoscopeError):  # FastAPI wraps body-read failures
            return render_error(request, exc.__cause__)
        status = exc.status_code
        return problem_response(
            request,
            status=status,
            code=_CODES.get(status, f"http_{status}"),
            title=_TITLES.get(status, "Error"),
            detail=str(exc.detail) if status != 404 else f"no route for {request.url.path}",
        )

    app.add_exception_handler(ConvoscopeError, on_convoscope_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    # Unexpected exceptions are answered by RequestContextMiddleware (unexpected_error):
    # a handler registered for Exception runs in Starlette's outermost middleware, which
    # re-raises after answering, and uvicorn then closes the keep-alive connection.
