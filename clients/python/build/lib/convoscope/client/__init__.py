"""The Python client of convoscope: every API operation, typed, with retries.

Needs only httpx and pydantic: nothing of the server is imported, so it installs and
runs in an app's environment on its own (``clients/python``).

::

    from convoscope.client import Client

    client = Client("http://127.0.0.1:8080", api_key="cvs_…")
    client.log_conversation({"type": "openai", "messages": [{"role": "user", "content": "Hi"}]})
"""

from convoscope.client._async import AsyncClient
from convoscope.client._sync import Client
from convoscope.client.background import BackgroundLogger, LoggerStats
from convoscope.client.errors import (
    BadRequest,
    ConnectionFailed,
    ConvoscopeAPIError,
    ConvoscopeClientError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
    UnprocessableEntity,
)
from convoscope.client.models import (
    ContentPart,
    Conversation,
    ConversationCreate,
    ConversationPage,
    Deleted,
    Event,
    EventCreate,
    Feedback,
    FeedbackCreate,
    FeedbackPage,
    FeedbackSource,
    FeedbackWithContext,
    Link,
    Message,
    MessageCreate,
    QueryResult,
    Reason,
    SearchQueryCount,
    ThreadVerification,
    ToolCall,
    ToolFunction,
    VerifiedThread,
    WeeklySearchUsers,
)
from convoscope.client.retries import Retry

__all__ = [
    "AsyncClient",
    "BackgroundLogger",
    "BadRequest",
    "Client",
    "ConnectionFailed",
    "ContentPart",
    "Conversation",
    "ConversationCreate",
    "ConversationPage",
    "ConvoscopeAPIError",
    "ConvoscopeClientError",
    "Deleted",
    "Event",
    "EventCreate",
    "Feedback",
    "FeedbackCreate",
    "FeedbackPage",
    "FeedbackSource",
    "FeedbackWithContext",
    "Forbidden",
    "Link",
    "LoggerStats",
    "Message",
    "MessageCreate",
    "NotFound",
    "PayloadTooLarge",
    "QueryResult",
    "RateLimited",
    "Reason",
    "RequestTimeout",
    "Retry",
    "SearchQueryCount",
    "ServerError",
    "ThreadVerification",
    "ToolCall",
    "ToolFunction",
    "Unauthorized",
    "UnexpectedResponse",
    "UnprocessableEntity",
    "VerifiedThread",
    "WeeklySearchUsers",
]
