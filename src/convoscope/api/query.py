"""``/query/<resource>``: the analytics DSL over conversations, events, feedback and
semantic threads (API.md §2.11–2.14)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body
from sqlalchemy import Connection

from convoscope.api.bodies import parse_body, validated_as
from convoscope.api.deps import Advisor, AppSettings, Db, ReadKey
from convoscope.api.responses import JSONResponse, documented
from convoscope.auth import Caller
from convoscope.errors import Forbidden
from convoscope.indexing import PathAdvisor, path_columns
from convoscope.query import (
    ALL_VIEWS,
    CONVERSATIONS,
    EVENTS,
    FEEDBACK,
    PAGE_SIZE,
    SEMANTIC_THREADS,
    VIEWS,
    CompiledQuery,
    Query,
    Resource,
    compile_query,
    fetch_page,
    parse_query,
    parse_time_value,
    property_keys,
    property_values,
    run_limited,
    top_search_queries,
    weekly_search_users,
)
from convoscope.schemas import (
    PropertyKeysRequestBody,
    PropertyResults,
    PropertyValuesRequestBody,
    QueryConversationsRequestBody,
    QueryEventsRequestBody,
    QueryFeedbackRequestBody,
    QueryRequest,
    QueryResponseBody,
    QuerySemanticThreadsRequestBody,
    TopSearchQueriesResponse,
    WeeklySearchUsersResponse,
)
from convoscope.settings import Settings
from convoscope.store import Database, Scope

router = APIRouter(tags=["query"])

RawBody = Annotated[dict[str, Any] | None, Body()]


def compile_on(
    conn: Connection, query: Query, project_id: str, *, with_total: bool = False
) -> CompiledQuery:
    """``query`` compiled for ``conn``, reading indexed JSON paths through their index; in
    the transaction that runs it, so an index dropped meanwhile is never named."""
    return compile_query(
        query, project_id=project_id, with_total=with_total, path_columns=path_columns(conn)
    )


@dataclass(frozen=True, slots=True)
class QueryKind:
    """One ``/query/<path>`` route and its export: the resource it reads, the model its
    body is validated as, and how the OpenAPI document names both."""

    resource: Resource
    path: str
    model: type[QueryRequest]
    name: str  # in operation ids: queryConversations, exportConversationsQueryResults
    noun: str  # in summaries: "Query conversations", "Export a conversations query"
    article: str
    description: str


ROWS = "Rows, groups or aggregates over the project's {} (at most 1000 rows)."
KINDS = (
    QueryKind(
        CONVERSATIONS,
        "conversations",
        QueryConversationsRequestBody,
        "Conversations",
        "conversations",
        "a",
        ROWS.format("conversations"),
    ),
    QueryKind(
        EVENTS, "events", QueryEventsRequestBody, "Events", "events", "an", ROWS.format("events")
    ),
    QueryKind(
        FEEDBACK,
        "feedback",
        QueryFeedbackRequestBody,
        "Feedback",
        "feedback",
        "a",
        ROWS.format("feedback"),
    ),
    QueryKind(
        SEMANTIC_THREADS,
        "semantic-threads",
        QuerySemanticThreadsRequestBody,
        "SemanticThreads",
        "semantic threads",
        "a",
        "Rows, groups or aggregates over the project's question/answer threads.",
    ),
)


async def run_query(
    db: Database,
    settings: Settings,
    advisor: PathAdvisor,
    scope: Scope,
    kind: QueryKind,
    body: dict[str, Any] | None,
) -> JSONResponse:
    query = parse_query(kind.resource, parse_body(kind.model, body))

    def fetch(conn: Connection) -> tuple[list[dict[str, Any]], int]:
        with advisor.watch(conn, [kind.resource.name], query.json_paths()):
            return fetch_page(conn, compile_on(conn, query, scope.project_id, with_total=True))

    rows, total = await db.read_analytics(
        lambda conn: run_limited(conn, settings.query_timeout_seconds, fetch)
    )
    return JSONResponse(
        {
            "status": "ok",
            "data": {"result": rows, "total": total, "pageSize": PAGE_SIZE, "count": len(rows)},
        }
    )


def _add_query_route(kind: QueryKind) -> None:
    async def handler(
        db: Db, caller: ReadKey, settings: AppSettings, advisor: Advisor, body: RawBody = None
    ) -> JSONResponse:
        return await run_query(db, settings, advisor, caller.scope, kind, body)

    router.add_api_route(
        f"/query/{kind.path}",
        handler,
        methods=["POST"],
        name=f"query_{kind.path.replace('-', '_')}",
        operation_id=validated_as(kind.model, f"query{kind.name}"),
        summary=f"Query {kind.noun}",
        description=kind.description,
        responses=documented(QueryResponseBody),
    )


for _kind in KINDS:
    _add_query_route(_kind)


@router.post(
    "/query/property-keys",
    operation_id=validated_as(PropertyKeysRequestBody, "queryPropertyKeys"),
    summary="Keys found in properties or userProperties",
    responses=documented(PropertyResults),
)
async def query_property_keys(
    db: Db, caller: ReadKey, settings: AppSettings, body: RawBody = None
) -> JSONResponse:
    """The distinct top-level keys of the JSON field across the chosen views, sorted."""
    request = parse_body(PropertyKeysRequestBody, body)
    project_id = caller.scope.project_id
    keys = await db.read_analytics(
        lambda conn: run_limited(
            conn,
            settings.query_timeout_seconds,
            lambda c: property_keys(c, project_id, request.field, request.views, request.where),
        )
    )
    return JSONResponse({"results": keys})


@router.post(
    "/query/property-values",
    operation_id=validated_as(PropertyValuesRequestBody, "queryPropertyValues"),
    summary="Values of one key of properties or userProperties",
    responses=documented(PropertyResults),
)
async def query_property_values(
    db: Db, caller: ReadKey, settings: AppSettings, advisor: Advisor, body: RawBody = None
) -> JSONResponse:
    """The distinct values of ``field.key`` as strings, most frequent first."""
    request = parse_body(PropertyValuesRequestBody, body)
    project_id = caller.scope.project_id
    resources = [VIEWS[view].name for view in dict.fromkeys(request.views or ALL_VIEWS)]

    def fetch(conn: Connection) -> list[str]:
        with advisor.watch(conn, resources, [(request.field, (request.key,))]):
            return property_values(
                conn,
                project_id,
                request.field,
                request.key,
                request.views,
                request.where,
                request.limit,
                path_columns(conn),
            )

    values = await db.read_analytics(
        lambda conn: run_limited(conn, settings.query_timeout_seconds, fetch)
    )
    return JSONResponse({"results": values})


SearchReport = Callable[[Connection, str, datetime | None], list[dict[str, str]]]


async def _search_report(
    db: Database,
    settings: Settings,
    caller: Caller,
    after: str | None,
    project_id: str | None,
    report: SearchReport,
) -> JSONResponse:
    """One of the two search reports over the key's project, under the time limit."""
    if project_id is not None and project_id != caller.scope.project_id:
        raise Forbidden("project_id names another project than the key's")
    since = None if after is None else parse_time_value(after, "after")
    scope_id = caller.scope.project_id
    result = await db.read_analytics(
        lambda conn: run_limited(
            conn, settings.query_timeout_seconds, lambda c: report(c, scope_id, since)
        )
    )
    return JSONResponse({"data": {"result": result, "total": len(result)}})


@router.get(
    "/query/top-search-queries",
    operation_id="topSearchQueries",
    summary="The most frequent search queries",
    responses=documented(TopSearchQueriesResponse),
)
async def get_top_search_queries(
    db: Db,
    caller: ReadKey,
    settings: AppSettings,
    after: str | None = None,
    project_id: str | None = None,
) -> JSONResponse:
    """Search events grouped by query, most frequent first (at most 100)."""
    return await _search_report(db, settings, caller, after, project_id, top_search_queries)


@router.get(
    "/query/weekly-search-users",
    operation_id="weeklySearchUsers",
    summary="Distinct searching users per week",
    responses=documented(WeeklySearchUsersResponse),
)
async def get_weekly_search_users(
    db: Db,
    caller: ReadKey,
    settings: AppSettings,
    after: str | None = None,
    project_id: str | None = None,
) -> JSONResponse:
    """Distinct users with search events per UTC week (weeks start on Monday), oldest first."""
    return await _search_report(db, settings, caller, after, project_id, weekly_search_users)
