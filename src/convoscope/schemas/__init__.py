"""Wire models: exactly the shapes of the Inkeep Analytics API, and nowhere else.

They know no storage: ``convoscope.api.wire`` turns them into the store's records and
back. ``conversations``, ``feedback``, ``events``, ``threads``: the resources;
``query``: the DSL's requests and answers; ``common``: timestamps, properties, links;
``problems``: error bodies; ``privacy``, ``dashboard``, ``transfer``: ours.

The names of ``__all__`` load their module on first use (``convoscope.lazy``):
importing the package loads no pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convoscope.lazy import lazy_exports

if TYPE_CHECKING:
    from convoscope.schemas.common import (
        JsonObject,
        NonEmptyId,
        Timestamp,
        WireModel,
        dump_links,
        dump_user_properties,
        format_timestamp,
    )
    from convoscope.schemas.conversations import (
        ConversationOut,
        ConversationPage,
        CreateConversation,
        CreateOpenAIConversation,
        CreateSupportCopilotConversation,
        CreateSupportTicketConversation,
        DeleteResponse,
        OpenAIMessageCreate,
        SupportMessageCreate,
        create_conversation_adapter,
    )
    from convoscope.schemas.dashboard import (
        DashboardCards,
        DashboardChart,
        DashboardConversation,
        DashboardConversationPage,
        DashboardGaps,
        DashboardSearch,
        DashboardTable,
    )
    from convoscope.schemas.events import (
        InsertConversationEvent,
        InsertEvent,
        InsertMessageEvent,
        InsertSearchEvent,
        SelectEvent,
    )
    from convoscope.schemas.feedback import (
        FeedbackOut,
        FeedbackWithContext,
        GetAllFeedbackResponse,
        LogFeedbackRequestBody,
    )
    from convoscope.schemas.privacy import ForgetRequest, Forgotten, PrivacySettings, Redaction
    from convoscope.schemas.problems import Problem
    from convoscope.schemas.query import (
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
    from convoscope.schemas.threads import ThreadVerification, VerifiedThread
    from convoscope.schemas.transfer import (
        EventLine,
        ExportLine,
        event_line_adapter,
        export_line_adapter,
    )

__all__ = [
    "ConversationOut",
    "ConversationPage",
    "CreateConversation",
    "CreateOpenAIConversation",
    "CreateSupportCopilotConversation",
    "CreateSupportTicketConversation",
    "DashboardCards",
    "DashboardChart",
    "DashboardConversation",
    "DashboardConversationPage",
    "DashboardGaps",
    "DashboardSearch",
    "DashboardTable",
    "DeleteResponse",
    "EventLine",
    "ExportLine",
    "FeedbackOut",
    "FeedbackWithContext",
    "ForgetRequest",
    "Forgotten",
    "GetAllFeedbackResponse",
    "InsertConversationEvent",
    "InsertEvent",
    "InsertMessageEvent",
    "InsertSearchEvent",
    "JsonObject",
    "LogFeedbackRequestBody",
    "NonEmptyId",
    "OpenAIMessageCreate",
    "PrivacySettings",
    "Problem",
    "PropertyKeysRequestBody",
    "PropertyResults",
    "PropertyValuesRequestBody",
    "QueryConversationsRequestBody",
    "QueryEventsRequestBody",
    "QueryFeedbackRequestBody",
    "QueryRequest",
    "QueryResponseBody",
    "QuerySemanticThreadsRequestBody",
    "Redaction",
    "SelectEvent",
    "SupportMessageCreate",
    "ThreadVerification",
    "Timestamp",
    "TopSearchQueriesResponse",
    "VerifiedThread",
    "WeeklySearchUsersResponse",
    "WireModel",
    "create_conversation_adapter",
    "dump_links",
    "dump_user_properties",
    "event_line_adapter",
    "export_line_adapter",
    "format_timestamp",
]

if not TYPE_CHECKING:
    __getattr__ = lazy_exports(
        __name__,
        {
            "common": (
                "JsonObject",
                "NonEmptyId",
                "Timestamp",
                "WireModel",
                "dump_links",
                "dump_user_properties",
                "format_timestamp",
            ),
            "conversations": (
                "ConversationOut",
                "ConversationPage",
                "CreateConversation",
                "CreateOpenAIConversation",
                "CreateSupportCopilotConversation",
                "CreateSupportTicketConversation",
                "DeleteResponse",
                "OpenAIMessageCreate",
                "SupportMessageCreate",
                "create_conversation_adapter",
            ),
            "dashboard": (
                "DashboardCards",
                "DashboardChart",
                "DashboardConversation",
                "DashboardConversationPage",
                "DashboardGaps",
                "DashboardSearch",
                "DashboardTable",
            ),
            "events": (
                "InsertConversationEvent",
                "InsertEvent",
                "InsertMessageEvent",
                "InsertSearchEvent",
                "SelectEvent",
            ),
            "feedback": (
                "FeedbackOut",
                "FeedbackWithContext",
                "GetAllFeedbackResponse",
                "LogFeedbackRequestBody",
            ),
            "privacy": ("ForgetRequest", "Forgotten", "PrivacySettings", "Redaction"),
            "problems": ("Problem",),
            "query": (
                "PropertyKeysRequestBody",
                "PropertyResults",
                "PropertyValuesRequestBody",
                "QueryConversationsRequestBody",
                "QueryEventsRequestBody",
                "QueryFeedbackRequestBody",
                "QueryRequest",
                "QueryResponseBody",
                "QuerySemanticThreadsRequestBody",
                "TopSearchQueriesResponse",
                "WeeklySearchUsersResponse",
            ),
            "threads": ("ThreadVerification", "VerifiedThread"),
            "transfer": ("EventLine", "ExportLine", "event_line_adapter", "export_line_adapter"),
        },
    )
