"""The dashboard's data calls, ``/dashboard/api/...``: each runs one report of the query
engine for the signed-in person's project and view."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Connection
from starlette.responses import StreamingResponse

from convoscope.api import JSONResponse, documented
from convoscope.api.responses import problems
from convoscope.schemas import (
    DashboardCards,
    DashboardChart,
    DashboardConversation,
    DashboardConversationPage,
    DashboardGaps,
    DashboardSearch,
    DashboardTable,
)
from convoscope.web import listing, reports
from convoscope.web.context import View, ViewContext
from convoscope.web.window import Window

router = APIRouter(prefix="/dashboard/api", tags=["dashboard"])

Report = Callable[[Connection, str, Window], dict[str, Any]]


async def _report(view: ViewContext, report: Report) -> JSONResponse:
    project_id, window = view.project_id, view.state.window()
    return JSONResponse(await view.read(lambda conn: report(conn, project_id, window)))


def _route(path: str, operation_id: str, model: Any, report: Report, summary: str) -> None:
    async def endpoint(view: View) -> JSONResponse:
        return await _report(view, report)

    endpoint.__doc__ = report.__doc__
    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        operation_id=operation_id,
        summary=summary,
        responses=documented(model, not_found=True),
    )


_route(
    "/overview/cards",
    "dashboardOverviewCards",
    DashboardCards,
    reports.overview_cards,
    "Overview: headline numbers with the previous period",
)
_route(
    "/overview/volume",
    "dashboardConversationsOverTime",
    DashboardChart,
    reports.conversations_over_time,
    "Overview: conversations per hour or day",
)
_route(
    "/overview/feedback",
    "dashboardFeedbackPerDay",
    DashboardChart,
    reports.feedback_per_day,
    "Overview: thumbs up and down per day",
)
_route(
    "/overview/sentiment",
    "dashboardSentimentMix",
    DashboardChart,
    reports.sentiment_mix,
    "Overview: sentiment of the questions",
)
_route(
    "/overview/categories",
    "dashboardTopCategories",
    DashboardChart,
    reports.top_categories,
    "Overview: the most asked categories",
)
_route(
    "/overview/negative",
    "dashboardLatestNegativeFeedback",
    DashboardTable,
    reports.latest_negative_feedback,
    "Overview: the latest thumbs down with reasons",
)
_route(
    "/topics",
    "dashboardTopics",
    DashboardTable,
    reports.topics,
    "Topics: categories with volume, trend, feedback and gaps",
)
_route(
    "/gaps",
    "dashboardGaps",
    DashboardGaps,
    reports.gaps,
    "Gaps: questions the documentation does not answer, by subject",
)
_route("/search", "dashboardSearch", DashboardSearch, reports.search_report,
       "Search: top queries and weekly searching users")  # fmt: skip


@router.get(
    "/conversations",
    operation_id="dashboardConversations",
    summary="Conversations: one page of the filtered list",
    responses=documented(DashboardConversationPage, not_found=True),
)
async def conversations(
    view: View,
    type: str | None = None,
    category: str | None = None,
    sentiment: str | None = None,
    language: str | None = None,
    feedback: str | None = None,
    q: str | None = None,
    page: int = 1,
) -> JSONResponse:
    """Filters: type, category, sentiment, language, feedback (positive, negative, any,
    none) and q, text in a question; 50 a page."""
    project_id, window = view.project_id, view.state.window()
    f, page_number = view.state.conversation_filter(), view.state.page
    result = await view.read(
        lambda conn: listing.list_conversations(conn, project_id, window, f, page=page_number)
    )
    return JSONResponse(result)


CSV_COLUMNS = ("id", "firstMessageTime", "type", "integrationId", "userMessageCount", "question")


@router.get(
    "/conversations.csv",
    operation_id="dashboardConversationsCsv",
    summary="Conversations: every row of the filtered list as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **problems(not_found=True)},
)
async def conversations_csv(
    view: View,
    type: str | None = None,
    category: str | None = None,
    sentiment: str | None = None,
    language: str | None = None,
    feedback: str | None = None,
    q: str | None = None,
) -> StreamingResponse:
    """The same filters as the list; streamed, however many rows match."""
    project_id, window = view.project_id, view.state.window()
    f = view.state.conversation_filter()

    def chunks(conn: Connection) -> Iterator[list[dict[str, Any]]]:
        return listing.iter_conversations(conn, project_id, window, f)

    return _csv(view, CSV_COLUMNS, chunks, "conversations.csv")


@router.get(
    "/conversations/{conversation_id}",
    operation_id="dashboardConversation",
    summary="Conversation: transcript, feedback, events and annotations",
    responses=documented(DashboardConversation, not_found=True),
)
async def conversation(conversation_id: str, view: View) -> JSONResponse:
    """One conversation of the project; 404 for an id of any other project."""
    scope = view.scope
    return JSONResponse(
        await view.read(lambda conn: listing.conversation_detail(conn, scope, conversation_id))
    )


GAP_CSV_COLUMNS = ("subject", "total", "not_documented", "not_confident", "not_supported",
                   "gapSummary", "examples")  # fmt: skip


@router.get(
    "/gaps.csv",
    operation_id="dashboardGapsCsv",
    summary="Gaps: the subjects as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **problems(not_found=True)},
)
async def gaps_csv(view: View) -> StreamingResponse:
    """One row per subject, with example questions joined by ' | '."""
    project_id, window = view.project_id, view.state.window()

    def chunks(conn: Connection) -> Iterator[list[dict[str, Any]]]:
        rows = reports.gaps(conn, project_id, window)["rows"]
        for r in rows:
            r["examples"] = " | ".join(e["question"] for e in r["examples"])
        yield rows

    return _csv(view, GAP_CSV_COLUMNS, chunks, "gaps.csv")


def _csv(
    view: ViewContext,
    columns: tuple[str, ...],
    chunks: Callable[[Connection], Iterator[list[dict[str, Any]]]],
    filename: str,
) -> StreamingResponse:
    """Rows written chunk by chunk from one open cursor (Starlette runs the generator on
    worker threads), so memory holds one chunk whatever the number of rows."""
    engine = view.db.analytics_engine()

    def body() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        yield buffer.getvalue().encode()
        with engine.connect() as conn:
            for chunk in chunks(conn):
                buffer.seek(0)
                buffer.truncate()
                for row in chunk:
                    writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
                yield buffer.getvalue().encode()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
