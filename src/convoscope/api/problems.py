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
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from convoscope.errors import ConvoscopeError, InvalidInput, ServiceUnavailable

log = logging.getLogger("convoscope.errors")

_TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
}
_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
_MAX_ERRORS = 20


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


def invalid_input_from(
    err: ValidationError | RequestValidationError, *, prefix: str = ""
) -> InvalidInput:
    """One InvalidInput naming the first field at fault, and listing all of them."""
    by_field: dict[str, list[str]] = {}
    for item in err.errors()[:_MAX_ERRORS]:
        path = field_path(item["loc"], prefix=prefix)
        if item["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            tag = str(item.get("ctx", {}).get("discriminator", "type")).strip("'")
            path = f"{path}.{tag}" if path else tag
        elif item["type"] == "json_invalid":
            path = "body"
        # A value that fits no branch of a union fails once per branch: say it once.
        by_field.setdefault(path, [])
        message = _message(item)
        if message not in by_field[path]:
            by_field[path].append(message)
    # When one union branch got further than another, its deeper error is the useful one.
    deeper = [f for f in by_field if any(_is_inside(other, f) for other in by_field)]
    problems = [
        {"field": f, "message": " or ".join(m)} for f, m in by_field.items() if f not in deeper
    ]
    first = problems[0] if problems else {"field": prefix or "body", "message": "invalid"}
    if first["field"] == "":
        detail = first["message"]
    else:
        detail = f"{first['field']}: {first['message']}"
    if len(problems) > 1:
        detail += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return InvalidInput(detail, field=first["field"] or None, errors=problems)


_UNION_TAGS = {"openai", "support_ticket", "support_copilot", "message", "conversation", "search"}
_TYPE_BRANCHES = (
    "str",
    "int",
    "constrained-",
    "list[",
    "dict[",
    "function-after",
    "literal[",
    "none",
)


def field_path(loc: tuple[int | str, ...], *, prefix: str = "", from_request: bool = True) -> str:
    """``('body', 'openai', 'messages', 0, 'role')`` -> ``messages[0].role``.

    Drops what FastAPI and pydantic add: the ``body`` root (of a location FastAPI made,
    ``from_request``), the discriminator tag of a union, and the name of the union branch
    that was tried (``str``, ``list[ContentPart]``).
    """
    items = list(loc)
    if from_request and items and items[0] in {"body", "query", "path", "header"}:
        items = items[1:]
    if items and items[0] in _UNION_TAGS:
        items = items[1:]
    parts: list[str] = []
    for item in items:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.startswith(_TYPE_BRANCHES) or item[:1].isupper():
            continue
        else:
            parts.append(("." if parts else "") + item)
    path = "".join(parts)
    if prefix:
        return f"{prefix}.{path}" if path and not path.startswith("[") else prefix + path
    return path


def _is_inside(path: str, parent: str) -> bool:
    return bool(parent) and path.startswith((parent + ".", parent + "["))


def _message(item: Any) -> str:
    message = str(item.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if item.get("type") == "missing":
        return "is required"
    if item.get("type") == "json_invalid":
        where = item["loc"][-1] if item.get("loc") else "?"
        reason = item.get("ctx", {}).get("error", message)
        return f"is not valid JSON (at character {where}: {reason})"
    if item.get("type") == "union_tag_invalid":
        ctx = item.get("ctx", {})
        return f"must be one of {ctx.get('expected_tags', '')}; got {ctx.get('tag')!r}"
    if item.get("type") == "union_tag_not_found":
        return "is required"
    return message


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
