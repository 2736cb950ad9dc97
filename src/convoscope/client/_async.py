"""``AsyncClient``: the API from asyncio code; the same operations as ``Client``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

import httpx

from convoscope.client._base import (
    BaseClient,
    Body,
    Call,
    Calls,
    PropertyField,
    QueryBody,
    Resource,
    error_from,
    read_answer,
)
from convoscope.client.csvrows import CsvRows
from convoscope.client.errors import ConnectionFailed, RequestTimeout
from convoscope.client.models import (
    Conversation,
    ConversationPage,
    Deleted,
    Event,
    Feedback,
    FeedbackPage,
    FeedbackWithContext,
    QueryResult,
    SearchQueryCount,
    VerifiedThread,
    WeeklySearchUsers,
)
from convoscope.client.retries import RETRY_STATUSES, Retry

T = TypeVar("T")


class AsyncClient(BaseClient):
    """The convoscope API over HTTP, with retries and typed answers.

    ::

        from convoscope.client import AsyncClient

        async with AsyncClient("http://127.0.0.1:8080", api_key="cvs_…") as client:
            stored = await client.log_conversation(
                {"type": "openai", "messages": [{"role": "user", "content": "Hi"}]}
            )
            print(stored.id, [m.id for m in stored.messages])

    A client holds a pool of connections: make one and share it (on one event loop).
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry: Retry | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout=timeout, retry=retry, headers=headers)
        self._transport = transport
        self._http = self._new_http()
        self._pid = os.getpid()

    def _new_http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers=self.headers,
            timeout=self.timeout,
            transport=self._transport,
        )

    @property
    def http(self) -> httpx.AsyncClient:
        # A connection pool inherited through fork shares its sockets with the parent.
        if self._pid != os.getpid():
            self._http = self._new_http()
            self._pid = os.getpid()
        return self._http

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- sending -------------------------------------------------------------

    async def _send(self, call: Call[Any], *, stream: bool = False) -> httpx.Response:
        """The answer to the call, retried on 429, 5xx and connection errors."""
        retry = self.retry
        for attempt in range(retry.attempts):
            last = attempt == retry.attempts - 1
            request = self.http.build_request(
                call.method, call.path, json=call.json, params=call.params
            )
            try:
                response = await self.http.send(request, stream=stream)
            except httpx.TimeoutException as err:
                if last:
                    raise RequestTimeout(f"{call.method} {call.path}: {err!r}") from err
                await asyncio.sleep(retry.wait(attempt, None))
                continue
            except httpx.TransportError as err:
                if last:
                    raise ConnectionFailed(f"{call.method} {call.path}: {err!r}") from err
                await asyncio.sleep(retry.wait(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and not last:
                await response.aread()
                await response.aclose()
                await asyncio.sleep(retry.wait(attempt, response))
                continue
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _run(self, call: Call[T]) -> T:
        return read_answer(call, await self._send(call))

    # -- conversations --------------------------------------------------------

    async def log_conversation(self, body: Body) -> Conversation:
        """Upsert a conversation with its full history; an id is made when it has none."""
        return await self._run(Calls.log_conversation(body))

    async def list_conversations(self, *, limit: int = 20, offset: int = 0) -> ConversationPage:
        return await self._run(Calls.list_conversations(limit, offset))

    async def get_conversation(self, id: str) -> Conversation:
        return await self._run(Calls.get_conversation(id))

    async def get_conversation_by_external_id(self, external_id: str) -> Conversation:
        return await self._run(Calls.get_conversation_by_external_id(external_id))

    async def delete_conversation(self, id: str) -> Deleted:
        return await self._run(Calls.delete_conversation(id))

    # -- feedback and events ---------------------------------------------------

    async def log_feedback(self, body: Body) -> Feedback:
        """Upsert a thumbs up/down on a message (its conversation must be logged first)."""
        return await self._run(Calls.log_feedback(body))

    async def list_feedback(self, *, limit: int = 10, offset: int = 0) -> FeedbackPage:
        return await self._run(Calls.list_feedback(limit, offset))

    async def get_feedback(self, id: str) -> FeedbackWithContext:
        return await self._run(Calls.get_feedback(id))

    async def delete_feedback(self, id: str) -> Deleted:
        return await self._run(Calls.delete_feedback(id))

    async def log_event(self, body: Body) -> Event:
        return await self._run(Calls.log_event(body))

    # -- analytics --------------------------------------------------------------

    async def query(self, resource: Resource, query: QueryBody = None) -> QueryResult:
        """Run the analytics DSL on ``conversations``, ``events``, ``feedback`` or
        ``semantic-threads``; at most ``pageSize`` rows come back, ``total`` counts all."""
        return await self._run(Calls.query(resource, query))

    async def query_conversations(self, query: QueryBody = None) -> QueryResult:
        return await self.query("conversations", query)

    async def query_events(self, query: QueryBody = None) -> QueryResult:
        return await self.query("events", query)

    async def query_feedback(self, query: QueryBody = None) -> QueryResult:
        return await self.query("feedback", query)

    async def query_semantic_threads(self, query: QueryBody = None) -> QueryResult:
        return await self.query("semantic-threads", query)

    async def property_keys(
        self,
        field: PropertyField = "properties",
        *,
        views: list[str] | None = None,
        where: QueryBody = None,
    ) -> list[str]:
        return await self._run(Calls.property_keys(field, views, where))

    async def property_values(
        self,
        field: PropertyField,
        key: str,
        *,
        views: list[str] | None = None,
        where: QueryBody = None,
        limit: int = 100,
    ) -> list[str]:
        return await self._run(Calls.property_values(field, key, views, where, limit))

    async def top_search_queries(
        self, *, after: str | None = None, project_id: str | None = None
    ) -> list[SearchQueryCount]:
        return await self._run(Calls.top_search_queries(after, project_id))

    async def weekly_search_users(
        self, *, after: str | None = None, project_id: str | None = None
    ) -> list[WeeklySearchUsers]:
        return await self._run(Calls.weekly_search_users(after, project_id))

    async def verify_thread(self, id: str, fields: Body) -> VerifiedThread:
        """Store a person's corrections to a semantic thread's annotations."""
        return await self._run(Calls.verify_thread(id, fields))

    # -- exports ----------------------------------------------------------------

    async def export(
        self, resource: Resource, query: QueryBody = None, *, to: str | Path | IO[bytes]
    ) -> int:
        """Write every row the query matches, as CSV, to a path or a binary file; the
        number of bytes written. The rows stream through: memory stays flat."""
        response = await self._export(resource, query)
        try:
            if isinstance(to, str | Path):
                with open(to, "wb") as out:
                    return await _copy(response, out)
            return await _copy(response, to)
        finally:
            await response.aclose()

    async def export_rows(
        self, resource: Resource, query: QueryBody = None
    ) -> AsyncIterator[dict[str, str]]:
        """Every row the query matches, one dict per CSV row, as it arrives."""
        response = await self._export(resource, query)
        try:
            rows = CsvRows()
            async for text in response.aiter_text():
                for row in rows.feed(text):
                    yield row
            for row in rows.close():
                yield row
        finally:
            await response.aclose()

    async def _export(self, resource: Resource, query: QueryBody) -> httpx.Response:
        call = Calls.export(resource, query)
        response = await self._send(call, stream=True)
        if not response.is_success:
            await response.aread()
            await response.aclose()
            raise error_from(response)
        return response


async def _copy(response: httpx.Response, out: IO[bytes]) -> int:
    written = 0
    async for chunk in response.aiter_bytes():
        out.write(chunk)
        written += len(chunk)
    return written
