"""What ``Client`` and ``AsyncClient`` share: settings, requests, and reading answers.

Each operation is described once, as a ``Call`` (method, path, body, how to read the
answer); the two clients differ only in how they send it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from convoscope.client.errors import UnexpectedResponse, error_for_response
from convoscope.client.models import (
    Conversation,
    ConversationCreate,
    ConversationPage,
    Deleted,
    Event,
    EventCreate,
    Feedback,
    FeedbackCreate,
    FeedbackPage,
    FeedbackWithContext,
    QueryResult,
    SearchQueryCount,
    ThreadVerification,
    VerifiedThread,
    WeeklySearchUsers,
)
from convoscope.client.retries import Retry

T = TypeVar("T")
Body = Mapping[str, Any] | BaseModel
QueryBody = Mapping[str, Any] | None
Resource = Literal["conversations", "events", "feedback", "semantic-threads"]
PropertyField = Literal["properties", "userProperties"]
RESOURCES: tuple[Resource, ...] = ("conversations", "events", "feedback", "semantic-threads")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
USER_AGENT = "convoscope-python"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how to turn a 2xx answer into its result."""

    method: str
    path: str
    read: Callable[[Any], T]
    json: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)


def new_id(prefix: str) -> str:
    """An id made before the first try, so that a retried write upserts, not duplicates."""
    return f"{prefix}_{os.urandom(16).hex()}"


def to_body(body: Body) -> dict[str, Any]:
    if isinstance(body, BaseModel):
        to_wire = getattr(body, "to_wire", None)
        if callable(to_wire):
            wire: dict[str, Any] = to_wire()
            return wire
        return body.model_dump(mode="json", exclude_unset=True)
    return dict(body)


def with_id(body: Body, prefix: str) -> dict[str, Any]:
    wire = to_body(body)
    if not wire.get("id"):
        wire["id"] = new_id(prefix)
    return wire


def model(kind: type[T]) -> Callable[[Any], T]:
    def read(data: Any) -> T:
        return kind.model_validate(data)  # type: ignore[attr-defined,no-any-return]

    return read


def _query_data(data: Any) -> QueryResult:
    return QueryResult.model_validate(data["data"])


def _results(data: Any) -> list[str]:
    return [str(value) for value in data["results"]]


def _rows(kind: type[T]) -> Callable[[Any], list[T]]:
    def read(data: Any) -> list[T]:
        return [kind.model_validate(row) for row in data["data"]["result"]]  # type: ignore[attr-defined]

    return read


def segment(value: str) -> str:
    """A path segment: ids may hold ``/`` and spaces, and the server routes on raw paths."""
    return quote(value, safe="")


def read_answer(call: Call[T], response: httpx.Response) -> T:
    """The call's result for a 2xx, or the typed error for anything else."""
    if response.is_success:
        try:
            return call.read(response.json())
        except (ValueError, KeyError, TypeError, ValidationError) as err:
            raise UnexpectedResponse(
                f"could not read the answer to {call.method} {call.path}: {err}",
                status=response.status_code,
                body=response.text[:2000],
            ) from err
    raise error_from(response)


def error_from(response: httpx.Response) -> Exception:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    return error_for_response(response.status_code, body, response.text)


class BaseClient:
    """Settings both clients share.

    Args:
        base_url: where the server is, e.g. ``http://127.0.0.1:8080`` (a path prefix is kept).
        api_key: the project's key; an ``api`` key reads and writes, the others only write.
            Defaults to the ``CONVOSCOPE_API_KEY`` environment variable.
        timeout: seconds for one try (or an ``httpx.Timeout``).
        retry: how often and how long to retry on 429, 5xx and connection errors.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry: Retry | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        base_url = base_url or os.environ.get("CONVOSCOPE_BASE_URL") or "http://127.0.0.1:8080"
        self.base_url = base_url.rstrip("/") + "/"
        api_key = api_key if api_key is not None else os.environ.get("CONVOSCOPE_API_KEY")
        self.retry = retry or Retry()
        self.timeout = (
            timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout or 30.0)
        )
        self.headers = {"User-Agent": USER_AGENT, **(headers or {})}
        if api_key:
            scheme = "" if api_key.lower().startswith("bearer ") else "Bearer "
            self.headers["Authorization"] = scheme + api_key


class Calls:
    """Every operation of the API, as the call that performs it."""

    @staticmethod
    def log_conversation(body: ConversationCreate | Body) -> Call[Conversation]:
        return Call("POST", "conversations", model(Conversation), with_id(body, "conv"))

    @staticmethod
    def list_conversations(limit: int, offset: int) -> Call[ConversationPage]:
        params = {"limit": limit, "offset": offset}
        return Call("GET", "conversations", model(ConversationPage), params=params)

    @staticmethod
    def get_conversation(id: str) -> Call[Conversation]:
        return Call("GET", f"conversations/{segment(id)}", model(Conversation))

    @staticmethod
    def get_conversation_by_external_id(external_id: str) -> Call[Conversation]:
        path = f"conversations/external/{segment(external_id)}"
        return Call("GET", path, model(Conversation))

    @staticmethod
    def delete_conversation(id: str) -> Call[Deleted]:
        return Call("DELETE", f"conversations/{segment(id)}", model(Deleted))

    @staticmethod
    def log_feedback(body: FeedbackCreate | Body) -> Call[Feedback]:
        return Call("POST", "feedback", model(Feedback), with_id(body, "fb"))

    @staticmethod
    def list_feedback(limit: int, offset: int) -> Call[FeedbackPage]:
        params = {"limit": limit, "offset": offset}
        return Call("GET", "feedback", model(FeedbackPage), params=params)

    @staticmethod
    def get_feedback(id: str) -> Call[FeedbackWithContext]:
        return Call("GET", f"feedback/{segment(id)}", model(FeedbackWithContext))

    @staticmethod
    def delete_feedback(id: str) -> Call[Deleted]:
        return Call("DELETE", f"feedback/{segment(id)}", model(Deleted))

    @staticmethod
    def log_event(body: EventCreate | Body) -> Call[Event]:
        return Call("POST", "events", model(Event), with_id(body, "evt"))

    @staticmethod
    def query(resource: Resource, body: QueryBody) -> Call[QueryResult]:
        if resource not in RESOURCES:
            raise ValueError(f"resource must be one of {', '.join(RESOURCES)}; got {resource!r}")
        return Call("POST", f"query/{resource}", _query_data, dict(body or {}))

    @staticmethod
    def property_keys(
        field: PropertyField, views: list[str] | None, where: QueryBody
    ) -> Call[list[str]]:
        body: dict[str, Any] = {"field": field}
        if views is not None:
            body["views"] = views
        if where is not None:
            body["where"] = dict(where)
        return Call("POST", "query/property-keys", _results, body)

    @staticmethod
    def property_values(
        field: PropertyField, key: str, views: list[str] | None, where: QueryBody, limit: int
    ) -> Call[list[str]]:
        body: dict[str, Any] = {"field": field, "key": key, "limit": limit}
        if views is not None:
            body["views"] = views
        if where is not None:
            body["where"] = dict(where)
        return Call("POST", "query/property-values", _results, body)

    @staticmethod
    def top_search_queries(
        after: str | None, project_id: str | None
    ) -> Call[list[SearchQueryCount]]:
        params = _search_params(after, project_id)
        return Call("GET", "query/top-search-queries", _rows(SearchQueryCount), params=params)

    @staticmethod
    def weekly_search_users(
        after: str | None, project_id: str | None
    ) -> Call[list[WeeklySearchUsers]]:
        params = _search_params(after, project_id)
        return Call("GET", "query/weekly-search-users", _rows(WeeklySearchUsers), params=params)

    @staticmethod
    def verify_thread(id: str, fields: ThreadVerification | Body) -> Call[VerifiedThread]:
        path = f"convoscope/semantic-threads/{segment(id)}/verify"
        return Call("POST", path, model(VerifiedThread), to_body(fields))

    @staticmethod
    def export(resource: Resource, body: QueryBody) -> Call[None]:
        if resource not in RESOURCES:
            raise ValueError(f"resource must be one of {', '.join(RESOURCES)}; got {resource!r}")
        return Call("POST", f"query/{resource}/export", lambda _: None, dict(body or {}))


def _search_params(after: str | None, project_id: str | None) -> dict[str, str]:
    params = {}
    if after is not None:
        params["after"] = after
    if project_id is not None:
        params["project_id"] = project_id
    return params
