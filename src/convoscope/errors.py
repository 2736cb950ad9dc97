"""The errors convoscope raises, one tree for the whole server.

    ConvoscopeError                      (500 internal_server_error)
    ├── InvalidInput                     (400 bad_request, names the field at fault)
    │   ├── PayloadTooLarge              (413 payload_too_large)
    │   ├── UnsupportedMediaType         (415 unsupported_media_type)
    │   └── QueryError                   (a query that does not fit the DSL)
    ├── Unprocessable                    (422 unprocessable_entity, names the field)
    │   ├── Conflict                     (the request contradicts what is stored)
    │   ├── UnanswerableQuery            (a valid query that cannot produce its result)
    │   └── QueryTimeout                 (a query ran past the time limit)
    ├── Unauthorized                     (401 unauthorized)
    ├── Forbidden                        (403 forbidden)
    ├── NotFound                         (404 not_found)
    │   ├── ConversationNotFound
    │   └── FeedbackNotFound
    ├── TooManyRequests                  (429 too_many_requests: sign-in attempts)
    └── ServiceUnavailable               (503 service_unavailable, may say Retry-After)
        ├── WriterBusy                   (the write queue is full: retry shortly)
        └── WriterStopped                (the writer is not running: nothing is written)
    SettingsError                        (a bad CONVOSCOPE_* value; stops the server at start)

The store and the API raise these; ``api/problems.py`` renders every one of them as
``application/problem+json`` in one place. Instances carry facts, never an HTTP body.
"""

from __future__ import annotations


class ConvoscopeError(Exception):
    """Base of every error a client can be shown."""

    status: int = 500
    code: str = "internal_server_error"
    title: str = "Internal Server Error"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.errors = errors


class InvalidInput(ConvoscopeError):
    """The request is malformed: bad JSON, a wrong type, an unknown enum value."""

    status = 400
    code = "bad_request"
    title = "Bad Request"


class PayloadTooLarge(InvalidInput):
    status = 413
    code = "payload_too_large"
    title = "Payload Too Large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than the limit of {limit} bytes")
        self.limit = limit


class UnsupportedMediaType(InvalidInput):
    """A body in a content type (or encoding) the route does not read."""

    status = 415
    code = "unsupported_media_type"
    title = "Unsupported Media Type"


class QueryError(InvalidInput):
    """A query (``/query/*``) that does not fit the DSL; ``field`` names the part at fault,
    e.g. ``where.and[2].condition.value``."""


class Unprocessable(ConvoscopeError):
    """The request is well formed but cannot be carried out."""

    status = 422
    code = "unprocessable_entity"
    title = "Unprocessable Entity"


class Conflict(Unprocessable):
    """The request contradicts stored data (e.g. changing a conversation's type)."""


class UnanswerableQuery(Unprocessable):
    """A well-formed query that cannot produce its result: ordering by a key the result
    lacks, or an aggregation that cannot give a number."""


class QueryTimeout(Unprocessable):
    """A query ran past ``CONVOSCOPE_QUERY_TIMEOUT_SECONDS``.

    422, not 503 or 504: the SDK retries every 5xx (and 429) for up to an hour, and the
    same query would time out again each time. 422 is typed in the SDK and not retried.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the query ran longer than the limit of {seconds:g} seconds; narrow it with "
            "a where condition (a time range), or export the rows instead"
        )
        self.seconds = seconds


class Unauthorized(ConvoscopeError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(ConvoscopeError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(ConvoscopeError):
    status = 404
    code = "not_found"
    title = "Not Found"


class ConversationNotFound(NotFound):
    def __init__(self, conversation_id: str, *, by: str = "id") -> None:
        super().__init__(f"no conversation with {by} {conversation_id!r} in this project")
        self.conversation_id = conversation_id


class FeedbackNotFound(NotFound):
    def __init__(self, feedback_id: str) -> None:
        super().__init__(f"no feedback with id {feedback_id!r} in this project")
        self.feedback_id = feedback_id


class TooManyRequests(ConvoscopeError):
    status = 429
    code = "too_many_requests"
    title = "Too Many Requests"


class ServiceUnavailable(ConvoscopeError):
    """The server cannot take the request now; nothing of it was stored.

    ``retry_after`` (seconds) becomes the ``Retry-After`` header: the SDK retries a 503
    with backoff, so a client under overload slows down instead of losing writes.
    """

    status = 503
    code = "service_unavailable"
    title = "Service Unavailable"

    def __init__(self, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class WriterBusy(ServiceUnavailable):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the server has {limit} writes waiting, its limit; retry shortly", retry_after=1
        )
        self.limit = limit


class WriterStopped(ServiceUnavailable):
    """The writer thread is stopping or has died: no write can be stored until restart."""


class SettingsError(Exception):
    """A ``CONVOSCOPE_*`` variable has a value the server cannot use."""
