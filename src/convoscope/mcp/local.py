"""The tools' work on a database, for one project: the same parts, in the same way, as
the HTTP routes (``api/``) and the dashboard's data calls (``web/data.py``) use them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from convoscope.api import (
    compile_on,
    conversation_to_wire,
    feedback_in,
    feedback_in_context,
    feedback_to_wire,
)
from convoscope.errors import Forbidden
from convoscope.indexing import PathAdvisor, path_columns
from convoscope.query import (
    ALL_VIEWS,
    PAGE_SIZE,
    VIEWS,
    CsvExport,
    Resource,
    fetch_page,
    parse_query,
    parse_time_value,
    property_keys,
    property_values,
    run_limited,
    top_search_queries,
    unpacked_keys,
    weekly_search_users,
)
from convoscope.schemas import (
    JsonObject,
    LogFeedbackRequestBody,
    PropertyKeysRequestBody,
    PropertyValuesRequestBody,
    QueryRequest,
)
from convoscope.store import Database, Scope
from convoscope.store import conversations as conversation_store
from convoscope.store import feedback as feedback_store
from convoscope.web import Window, listing, reports

T = TypeVar("T")
SearchReport = Callable[[Connection, str, datetime | None], list[dict[str, str]]]
SEARCH_REPORTS: dict[str, SearchReport] = {
    "top": top_search_queries,
    "weekly": weekly_search_users,
}


@dataclass(frozen=True, slots=True)
class LocalBackend:
    """One project's data on ``db``. ``advisor`` is the server's path advisor (slow JSON
    paths get their index); the stdio command has none."""

    db: Database
    scope: Scope
    query_timeout_seconds: float
    advisor: PathAdvisor | None = None

    @property
    def project_id(self) -> str:
        return self.scope.project_id

    async def _analytics(self, fn: Callable[[Connection], T]) -> T:
        seconds = self.query_timeout_seconds
        return await self.db.read_analytics(lambda conn: run_limited(conn, seconds, fn))

    async def search_report(
        self, kind: str, after: str | None, project_id: str | None
    ) -> JsonObject:
        if project_id is not None and project_id != self.project_id:
            raise Forbidden("projectId names another project than the key's", field="projectId")
        since = None if after is None else parse_time_value(after, "after")
        report, scope_id = SEARCH_REPORTS[kind], self.project_id
        result = await self._analytics(lambda conn: report(conn, scope_id, since))
        return {"data": {"result": result, "total": len(result)}}

    async def list_conversations(self, limit: int, offset: int) -> JsonObject:
        scope = self.scope
        total, page = await self.db.read(
            lambda conn: conversation_store.list_conversations(
                conn, scope, limit=limit, offset=offset
            )
        )
        return {
            "conversations": [conversation_to_wire(c) for c in page],
            "total": total,
            "pageSize": limit,
            "count": len(page),
        }

    async def conversation_by_external_id(self, external_id: str) -> JsonObject:
        scope = self.scope
        found = await self.db.read(
            lambda conn: conversation_store.get_conversation_by_external_id(
                conn, scope, external_id
            )
        )
        return conversation_to_wire(found)

    async def submit_feedback(self, body: LogFeedbackRequestBody) -> JsonObject:
        data, scope = feedback_in(body), self.scope
        stored = await self.db.write(lambda conn: feedback_store.upsert_feedback(conn, scope, data))
        return feedback_to_wire(stored)

    async def list_feedback(self, limit: int, offset: int) -> JsonObject:
        scope = self.scope

        def read(conn: Connection) -> tuple[dict[str, int], list[JsonObject]]:
            counts, page = feedback_store.list_feedback(conn, scope, limit=limit, offset=offset)
            return counts, feedback_in_context(conn, scope, page)

        counts, items = await self.db.read(read)
        return {
            "positiveFeedbackCount": counts.get("positive", 0),
            "negativeFeedbackCount": counts.get("negative", 0),
            "positiveFeedback": [f for f in items if f["type"] == "positive"],
            "negativeFeedback": [f for f in items if f["type"] == "negative"],
        }

    async def get_feedback(self, feedback_id: str) -> JsonObject:
        scope = self.scope

        def read(conn: Connection) -> list[JsonObject]:
            return feedback_in_context(
                conn, scope, [feedback_store.get_feedback(conn, scope, feedback_id)]
            )

        return (await self.db.read(read))[0]

    async def delete_feedback(self, feedback_id: str) -> JsonObject:
        scope = self.scope
        await self.db.write(lambda conn: feedback_store.delete_feedback(conn, scope, feedback_id))
        return {"success": True, "message": "Feedback deleted successfully"}

    async def query(self, resource: Resource, body: QueryRequest) -> JsonObject:
        query = parse_query(resource, body)
        advisor = self.advisor

        def fetch(conn: Connection) -> tuple[list[dict[str, Any]], int]:
            compiled = compile_on(conn, query, self.project_id, with_total=True)
            if advisor is None:
                return fetch_page(conn, compiled)
            with advisor.watch(conn, [resource.name], query.json_paths()):
                return fetch_page(conn, compiled)

        rows, total = await self._analytics(fetch)
        return {
            "status": "ok",
            "data": {"result": rows, "total": total, "pageSize": PAGE_SIZE, "count": len(rows)},
        }

    async def export(self, resource: Resource, body: QueryRequest, budget: int) -> tuple[str, bool]:
        """The export's CSV up to about ``budget`` characters, and whether it was cut.

        Read chunk by chunk and closed as soon as the budget is passed: a large export
        costs the rows sent, not the rows matched."""
        query, project_id = parse_query(resource, body), self.project_id
        chunks = await self.db.stream_analytics(
            lambda engine: CsvExport(
                engine,
                lambda conn: compile_on(conn, query, project_id),
                unpacked_keys(query),
                self.query_timeout_seconds,
            )
        )
        parts: list[str] = []
        length = 0
        try:
            async for chunk in chunks:
                text = chunk.decode()
                parts.append(text)
                length += len(text)
                if length > budget:
                    return "".join(parts), True
            return "".join(parts), False
        finally:
            await chunks.aclose()

    async def property_keys(self, body: PropertyKeysRequestBody) -> JsonObject:
        project_id = self.project_id
        keys = await self._analytics(
            lambda conn: property_keys(conn, project_id, body.field, body.views, body.where)
        )
        return {"results": keys}

    async def property_values(self, body: PropertyValuesRequestBody) -> JsonObject:
        project_id, advisor = self.project_id, self.advisor
        resources = [VIEWS[view].name for view in dict.fromkeys(body.views or ALL_VIEWS)]

        def fetch(conn: Connection) -> list[str]:
            def values() -> list[str]:
                return property_values(
                    conn,
                    project_id,
                    body.field,
                    body.key,
                    body.views,
                    body.where,
                    body.limit,
                    path_columns(conn),
                )

            if advisor is None:
                return values()
            with advisor.watch(conn, resources, [(body.field, (body.key,))]):
                return values()

        return {"results": await self._analytics(fetch)}

    async def conversation_detail(self, conversation_id: str) -> JsonObject:
        scope = self.scope
        return await self._analytics(
            lambda conn: listing.conversation_detail(conn, scope, conversation_id)
        )

    async def documentation_gaps(self, window: Window) -> JsonObject:
        project_id = self.project_id
        return await self._analytics(lambda conn: reports.gaps(conn, project_id, window))

    async def top_questions(self, window: Window) -> JsonObject:
        project_id = self.project_id
        return await self._analytics(lambda conn: reports.topics(conn, project_id, window))
