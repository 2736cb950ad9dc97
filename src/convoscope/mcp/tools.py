"""The tools: Inkeep's analytics MCP names, so that an agent set up for it works here
unchanged, and ours beside them.

Each takes one argument, ``request``, as Inkeep's server does: for the query tools the
DSL's request model (its JSON schema, with descriptions, is what the agent sees), for the
others the request object of the matching SDK call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from convoscope.errors import InvalidInput
from convoscope.mcp.bounds import MAX_RESULT_CHARS, ListPath, bound_text
from convoscope.mcp.inputs import (
    ConversationGetRequest,
    ConversationPageRequest,
    ExternalIdRequest,
    FeedbackIdRequest,
    FeedbackPageRequest,
    RangeRequest,
    SearchReportRequest,
)
from convoscope.mcp.local import LocalBackend
from convoscope.query import CONVERSATIONS, EVENTS, FEEDBACK, SEMANTIC_THREADS, Resource
from convoscope.schemas import (
    JsonObject,
    LogFeedbackRequestBody,
    PropertyKeysRequestBody,
    PropertyValuesRequestBody,
    QueryConversationsRequestBody,
    QueryEventsRequestBody,
    QueryFeedbackRequestBody,
    QueryRequest,
    QuerySemanticThreadsRequestBody,
)
from convoscope.web import Window

Run = Callable[[LocalBackend, Any], Awaitable[JsonObject]]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    title: str
    description: str
    model: type[BaseModel]
    run: Run
    # The lists cut from the end when the result is too large, and what to do instead.
    lists: tuple[ListPath, ...] = ()
    hint: str = ""
    # Offered to write-only keys (web, Slack, …) too; every other tool needs an api key.
    any_key: bool = False
    read_only: bool = True
    destructive: bool = False


NARROW = "Narrow the query (fewer fields, a where, a groupBy) or use the export tool."
PAGE = "Ask for a smaller page (limit) and page on with offset."


def _query(resource: Resource) -> Run:
    async def run(backend: LocalBackend, request: QueryRequest) -> JsonObject:
        return await backend.query(resource, request)

    return run


def _export(resource: Resource) -> Run:
    async def run(backend: LocalBackend, request: QueryRequest) -> JsonObject:
        text, cut = await backend.export(resource, request, MAX_RESULT_CHARS)
        hint = (
            "For every row, call POST /query/<resource>/export on the HTTP API, "
            "or narrow the query."
        )
        kept, note = bound_text(text, hint=hint) if cut else (text, None)
        rows = max(kept.count("\n") - 1, 0)
        out: JsonObject = {"contentType": "text/csv", "rows": rows, "csv": kept}
        if note is not None:
            out["note"] = note
        return out

    return run


def _window(request: RangeRequest) -> Window:
    start, end = request.bounds()
    if start >= end:
        raise InvalidInput("request.after: must be before request.before", field="request.after")
    return Window(start, end, request.integrationId)


async def _top_search(backend: LocalBackend, r: SearchReportRequest) -> JsonObject:
    return await backend.search_report("top", r.after, r.projectId)


async def _weekly_search(backend: LocalBackend, r: SearchReportRequest) -> JsonObject:
    return await backend.search_report("weekly", r.after, r.projectId)


async def _conversations(backend: LocalBackend, r: ConversationPageRequest) -> JsonObject:
    return await backend.list_conversations(20 if r.limit is None else r.limit, r.offset or 0)


async def _by_external_id(backend: LocalBackend, r: ExternalIdRequest) -> JsonObject:
    return await backend.conversation_by_external_id(r.externalId)


async def _submit(backend: LocalBackend, r: LogFeedbackRequestBody) -> JsonObject:
    return await backend.submit_feedback(r)


async def _feedback(backend: LocalBackend, r: FeedbackPageRequest) -> JsonObject:
    return await backend.list_feedback(10 if r.limit is None else r.limit, r.offset or 0)


async def _feedback_by_id(backend: LocalBackend, r: FeedbackIdRequest) -> JsonObject:
    return await backend.get_feedback(r.id)


async def _delete_feedback(backend: LocalBackend, r: FeedbackIdRequest) -> JsonObject:
    return await backend.delete_feedback(r.id)


async def _property_keys(backend: LocalBackend, r: PropertyKeysRequestBody) -> JsonObject:
    return await backend.property_keys(r)


async def _property_values(backend: LocalBackend, r: PropertyValuesRequestBody) -> JsonObject:
    return await backend.property_values(r)


async def _conversation(backend: LocalBackend, r: ConversationGetRequest) -> JsonObject:
    return await backend.conversation_detail(r.id)


async def _gaps(backend: LocalBackend, r: RangeRequest) -> JsonObject:
    return await backend.documentation_gaps(_window(r))


async def _top_questions(backend: LocalBackend, r: RangeRequest) -> JsonObject:
    return await backend.top_questions(_window(r))


_RESULT = (("data", "result"),)
_DSL = (
    " The request is the analytics DSL: select (fields, aggregations, time buckets), "
    "groupBy, where (a filter tree), orderBy; {} returns raw rows. At most 1000 rows."
)

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("top-search-queries", "Top search queries",
             "The most frequent search queries of the project (search events), "
             "most frequent first, at most 100.",
             SearchReportRequest, _top_search, _RESULT),
    ToolSpec("weekly-search-users", "Weekly searching users",
             "Distinct users with search events per UTC week (weeks start on Monday), "
             "oldest first.",
             SearchReportRequest, _weekly_search, _RESULT),
    ToolSpec("conversations-list", "List conversations",
             "One page of the project's conversations with their messages, newest first, "
             "and the project's total.",
             ConversationPageRequest, _conversations, (("conversations",),), PAGE),
    ToolSpec("conversation-get-conversation-by-external-id", "Conversation by external id",
             "The conversation whose externalId is the one given (the most recently "
             "updated when several share it).",
             ExternalIdRequest, _by_external_id,
             (("messages",), ("messagesOpenAIFormat",)),
             "Use conversation-get for the transcript with feedback and annotations."),
    ToolSpec("feedback-submit", "Submit feedback",
             "Log a thumbs up or down on a message (positive or negative), with reasons; "
             "the feedback with the same id is updated.",
             LogFeedbackRequestBody, _submit, any_key=True, read_only=False),
    ToolSpec("feedback-list", "List feedback",
             "One page of feedback, newest first, split into positive and negative, each "
             "with its conversation and message, and the project's counts.",
             FeedbackPageRequest, _feedback,
             (("positiveFeedback",), ("negativeFeedback",)), PAGE),
    ToolSpec("feedback-get-feedback-by-id", "Feedback by id",
             "One feedback with its conversation and the rated message.",
             FeedbackIdRequest, _feedback_by_id,
             (("conversation", "messages"), ("conversation", "messagesOpenAIFormat"))),
    ToolSpec("feedback-delete-feedback-by-id", "Delete feedback",
             "Delete one feedback for good.",
             FeedbackIdRequest, _delete_feedback, read_only=False, destructive=True),
    ToolSpec("query-conversations", "Query conversations",
             "Rows, groups or aggregates over the project's conversations." + _DSL,
             QueryConversationsRequestBody, _query(CONVERSATIONS), _RESULT, NARROW),
    ToolSpec("query-query-events", "Query events",
             "Rows, groups or aggregates over the project's events." + _DSL,
             QueryEventsRequestBody, _query(EVENTS), _RESULT, NARROW),
    ToolSpec("query-query-feedback", "Query feedback",
             "Rows, groups or aggregates over the project's feedback." + _DSL,
             QueryFeedbackRequestBody, _query(FEEDBACK), _RESULT, NARROW),
    ToolSpec("query-query-semantic-threads", "Query semantic threads",
             "Rows, groups or aggregates over the project's question/answer threads and "
             "their annotations (category, subject, isDocumented, sentiment, …); query "
             "searches their text." + _DSL,
             QuerySemanticThreadsRequestBody, _query(SEMANTIC_THREADS), _RESULT, NARROW),
    ToolSpec("query-export-conversations-query-results", "Export conversations",
             "A conversations query's rows as CSV (JSON fields unpacked by mode).",
             QueryConversationsRequestBody, _export(CONVERSATIONS)),
    ToolSpec("query-export-events-query-results", "Export events",
             "An events query's rows as CSV.",
             QueryEventsRequestBody, _export(EVENTS)),
    ToolSpec("query-export-feedback-query-results", "Export feedback",
             "A feedback query's rows as CSV.",
             QueryFeedbackRequestBody, _export(FEEDBACK)),
    ToolSpec("query-export-semantic-threads-query-results", "Export semantic threads",
             "A semantic-threads query's rows as CSV.",
             QuerySemanticThreadsRequestBody, _export(SEMANTIC_THREADS)),
    ToolSpec("query-query-property-keys", "Property keys",
             "The distinct top-level keys of properties or userProperties across the "
             "chosen views, sorted.",
             PropertyKeysRequestBody, _property_keys, (("results",),)),
    ToolSpec("query-query-property-values", "Property values",
             "The distinct values of one key of properties or userProperties, as "
             "strings, most frequent first.",
             PropertyValuesRequestBody, _property_values, (("results",),),
             "Ask for fewer (limit)."),
    ToolSpec("conversation-get", "Conversation transcript",
             "One conversation's transcript: each message with its feedback and events, "
             "and the annotations of its question/answer threads.",
             ConversationGetRequest, _conversation,
             (("messages",), ("threads",), ("conversationEvents",))),
    ToolSpec("documentation-gaps", "Documentation gaps",
             "The questions the documentation does not answer (not documented, not "
             "answered confidently, feature not supported), grouped by subject, most "
             "asked first, with example questions and their conversations.",
             RangeRequest, _gaps, (("rows",),), "Ask for a shorter range."),
    ToolSpec("top-questions", "Top questions",
             "The categories people ask about, most asked first: questions, change on "
             "the period before, positive feedback share, gap share and example questions.",
             RangeRequest, _top_questions, (("rows",),), "Ask for a shorter range."),
)  # fmt: skip
