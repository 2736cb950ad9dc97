"""Pure ASGI middleware: request ids, the body size limit, admission under overload, and
the last-resort 500.

Pure ASGI rather than ``BaseHTTPMiddleware``: it runs on every request, and the latter
costs a task and a stream per request.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from convoscope.api.problems import unexpected_error
from convoscope.errors import PayloadTooLarge, WriterBusy
from convoscope.store import new_id


class RequestContextMiddleware:
    """Gives each request an id (echoed as ``X-Request-ID``) and enforces the body limit.

    A declared ``Content-Length`` over the limit is refused before anything is read; a
    chunked body is counted as it arrives and refused as soon as it passes the limit.
    At most ``max_sends_in_progress`` requests with a body are handled at once; past
    that a 503 with ``Retry-After`` answers as soon as the body is in. An exception that
    escapes the app is answered here and not raised further: raised past this point,
    uvicorn would close the connection after the answer, and the client's next request
    on it would fail with a read error.
    """

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, max_sends_in_progress: int | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_sends_in_progress = max_sends_in_progress
        self._sends_in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id("req")
        scope.setdefault("state", {})["request_id"] = request_id
        header = request_id.encode()

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", header)]
            await send(message)

        limit = self.max_body_bytes
        declared = _content_length(scope)
        received = 0
        bound = self.max_sends_in_progress
        admitted = False

        async def receive_limited() -> Message:
            nonlocal received, admitted
            if declared is not None and declared > limit:
                raise PayloadTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
                if bound is not None and not admitted and not message.get("more_body"):
                    # The writer's queue bounds only the writes already parsed. Under
                    # overload requests piled up before it, each holding its body and
                    # models (27 KB a request in flight, bench/overload.py), and their 503
                    # came after that wait. So a request whose body is in is let on only
                    # up to the same bound, and refused before it is parsed otherwise. A
                    # client slow to send its body holds no place.
                    if self._sends_in_progress >= bound:
                        raise WriterBusy(bound)
                    self._sends_in_progress += 1
                    admitted = True
            return message

        try:
            await self.app(scope, receive_limited, send_with_id)
        except Exception as exc:
            if started:  # half an answer cannot be taken back: let the connection close
                raise
            await unexpected_error(Request(scope), exc)(scope, receive, send_with_id)
        finally:
            if admitted:
                self._sends_in_progress -= 1


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
