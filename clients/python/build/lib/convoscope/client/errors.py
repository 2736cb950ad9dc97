"""The errors the client raises, in one tree.

::

    ConvoscopeClientError
    ├── ConnectionFailed            no answer: refused, reset, DNS (after the retries)
    │   └── RequestTimeout          the server took longer than the timeout
    └── ConvoscopeAPIError          the server answered with an error (problem+json)
        ├── BadRequest              400  the body or a parameter is malformed
        ├── Unauthorized            401  no key, or an unknown or revoked one
        ├── Forbidden               403  the key may not do this (a write-only key reading)
        ├── NotFound                404  no such conversation or feedback in the project
        ├── PayloadTooLarge         413  the body is over the server's limit (2 MB)
        ├── UnprocessableEntity     422  well-formed but impossible (feedback for no message)
        ├── RateLimited             429  still limited after the retries
        ├── ServerError             5xx  still failing after the retries
        └── UnexpectedResponse      a 2xx the client could not read, or another status

Every ``ConvoscopeAPIError`` carries what the server said: ``status``, ``code``,
``title``, ``detail``, ``field`` (the request field at fault, when there is one),
``request_id`` (quote it when reporting a problem) and the whole ``body``::

    from convoscope.client import Client, NotFound

    client = Client("http://127.0.0.1:8080", api_key="cvs_…")
    try:
        client.get_conversation("conv_42")
    except NotFound as missing:
        print(missing.detail, missing.request_id)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadRequest",
    "ConnectionFailed",
    "ConvoscopeAPIError",
    "ConvoscopeClientError",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RequestTimeout",
    "ServerError",
    "Unauthorized",
    "UnexpectedResponse",
    "UnprocessableEntity",
    "error_for_response",
]


class ConvoscopeClientError(Exception):
    """Root of every error the client raises."""


class ConnectionFailed(ConvoscopeClientError):
    """The request got no answer from the server, after every retry."""


class RequestTimeout(ConnectionFailed):
    """The server did not answer within the client's timeout, after every retry."""


class ConvoscopeAPIError(ConvoscopeClientError):
    """The server answered with an error; its problem+json body is in the attributes."""

    status: int = 0

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        field: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(detail)
        if status is not None:
            self.status = status
        self.detail = detail
        self.code = code
        self.title = title
        self.field = field
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field else ""
        request = f" [{self.request_id}]" if self.request_id else ""
        return f"{self.status} {self.title or self.code or 'error'}: {self.detail}{where}{request}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, detail={self.detail!r})"


class BadRequest(ConvoscopeAPIError):
    status = 400


class Unauthorized(ConvoscopeAPIError):
    status = 401


class Forbidden(ConvoscopeAPIError):
    status = 403


class NotFound(ConvoscopeAPIError):
    status = 404


class PayloadTooLarge(ConvoscopeAPIError):
    status = 413


class UnprocessableEntity(ConvoscopeAPIError):
    status = 422


class RateLimited(ConvoscopeAPIError):
    status = 429


class ServerError(ConvoscopeAPIError):
    status = 500


class UnexpectedResponse(ConvoscopeAPIError):
    """A status the API does not use, or a success body the client could not read."""


_BY_STATUS: dict[int, type[ConvoscopeAPIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    413: PayloadTooLarge,
    422: UnprocessableEntity,
    429: RateLimited,
}


def error_for_response(status: int, body: Any, text: str) -> ConvoscopeAPIError:
    """The typed error for an error answer; ``body`` is its parsed JSON, if it had any."""
    kind = _BY_STATUS.get(status) or (ServerError if status >= 500 else UnexpectedResponse)
    problem = body if isinstance(body, dict) else {}
    detail = problem.get("detail")
    if not isinstance(detail, str):
        detail = text[:500] or f"HTTP {status}"

    def text_of(key: str) -> str | None:
        value = problem.get(key)
        return value if isinstance(value, str) else None

    return kind(
        detail,
        status=status,
        code=text_of("code"),
        title=text_of("title"),
        field=text_of("field"),
        request_id=text_of("requestId"),
        body=body,
    )
