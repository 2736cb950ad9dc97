"""The four query resources, their fields (API.md §4.1, Appendix A) and the SQL behind each.

Field names reach SQL only through these tables: a name that is not a key here is an
error, never an identifier.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table
from sqlalchemy.sql.elements import ColumnElement

from convoscope.store.tables import conversations, events, feedback, semantic_threads


class Kind(enum.Enum):
    STRING = "string"
    NUMBER = "number"
    TIME = "timestamp"
    BOOLEAN = "boolean"
    OBJECT = "JSON object"
    ARRAY = "array"
    OBJECT_ARRAY = "array of objects"

    @property
    def is_json(self) -> bool:
        return self in (Kind.OBJECT, Kind.ARRAY, Kind.OBJECT_ARRAY)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    column: Callable[[], ColumnElement[Any]]
    # On the wire: emit null (True) or leave the key out (False) when the value is NULL.
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class Resource:
    name: str
    view: str
    table: Table
    fields: dict[str, Field]
    main_time: str
    # JSON fields whose values must be strings in rows (events, API.md §5.8 item 30).
    string_valued_json: bool = False
    search_columns: tuple[str, ...] = field(default=())
    # Time buckets kept in a generated, indexed column: (field, unit) -> column name.
    stored_buckets: dict[tuple[str, str], str] = field(default_factory=dict)

    def project_column(self) -> ColumnElement[Any]:
        return self.table.c.project_id

    def id_column(self) -> ColumnElement[Any]:
        return self.table.c.id

    def stored_bucket(self, field_name: str, unit: str) -> ColumnElement[Any] | None:
        name = self.stored_buckets.get((field_name, unit))
        return None if name is None else self.table.c[name]


def _col(table: Table, name: str) -> Callable[[], ColumnElement[Any]]:
    return lambda: table.c[name]


def _fields(table: Table, *specs: tuple[str, Kind, str, bool]) -> dict[str, Field]:
    return {
        name: Field(name, kind, _col(table, column), nullable)
        for name, kind, column, nullable in specs
    }


S, N, T, B = Kind.STRING, Kind.NUMBER, Kind.TIME, Kind.BOOLEAN
OBJ, A, OA = Kind.OBJECT, Kind.ARRAY, Kind.OBJECT_ARRAY

CONVERSATIONS = Resource(
    name="conversations",
    view="conversations_view",
    table=conversations,
    main_time="firstMessageTime",
    stored_buckets={("firstMessageTime", "day"): "first_message_day"},
    fields=_fields(
        conversations,
        ("id", S, "id", False),
        ("userMessageCount", N, "user_message_count", False),
        ("organizationId", S, "organization_id", True),
        ("projectId", S, "project_id", True),
        ("integrationId", S, "integration_id", True),
        ("firstMessageTime", T, "first_message_time", False),
        ("type", S, "type", True),
        ("properties", OBJ, "properties", True),
        ("userProperties", OBJ, "user_properties", True),
    ),
)

EVENTS = Resource(
    name="events",
    view="events_view",
    table=events,
    main_time="createdAt",
    string_valued_json=True,
    fields=_fields(
        events,
        ("id", S, "id", False),
        ("organizationId", S, "organization_id", False),
        ("messageId", S, "message_id", False),
        ("conversationId", S, "conversation_id", False),
        ("createdAt", T, "created_at", False),
        ("projectId", S, "project_id", True),
        ("integrationId", S, "integration_id", True),
        ("eventType", S, "entity_type", False),
        ("type", S, "type", False),
        ("searchQuery", S, "search_query", False),
        ("properties", OBJ, "properties", True),
        ("userProperties", OBJ, "user_properties", True),
    ),
)

FEEDBACK = Resource(
    name="feedback",
    view="feedback_view",
    table=feedback,
    main_time="createdAt",
    fields=_fields(
        feedback,
        ("id", S, "id", False),
        ("type", S, "type", False),
        ("messageId", S, "message_id", False),
        ("createdAt", T, "created_at", False),
        ("updatedAt", T, "updated_at", False),
        ("organizationId", S, "organization_id", False),
        ("reasons", OA, "reasons", True),
        ("sources", OA, "sources", True),
        ("details", S, "details", True),
        ("properties", OBJ, "properties", True),
        ("userProperties", OBJ, "user_properties", True),
        ("conversationId", S, "conversation_id", False),
        ("projectId", S, "project_id", True),
        ("integrationId", S, "integration_id", True),
    ),
)


_THREAD_FIELDS = _fields(
    semantic_threads,
    ("id", S, "id", False),
    ("messageIds", A, "message_ids", True),
    ("messagesCount", N, "messages_count", True),
    ("organizationId", S, "organization_id", False),
    ("question", S, "question", False),
    ("questionLength", N, "question_length", True),
    ("answer", S, "answer", False),
    ("isOnTopic", B, "is_on_topic", True),
    ("isClear", B, "is_clear", True),
    ("isDocumented", B, "is_documented", True),
    ("isFeatureSupported", B, "is_feature_supported", True),
    ("isAnswerConfident", B, "is_answer_confident", True),
    ("gapSummary", S, "gap_summary", True),
    ("subject", S, "subject", True),
    ("category", S, "category", True),
    ("languages", A, "languages", True),
    ("firstPartyEntities", A, "first_party_entities", True),
    ("thirdPartyEntities", A, "third_party_entities", True),
    ("emotion", S, "emotion", True),
    ("sentiment", S, "sentiment", True),
    ("questionType", S, "question_type", True),
    ("projectId", S, "project_id", False),
    ("integrationId", S, "integration_id", False),
    ("properties", OBJ, "properties", True),
    ("userProperties", OBJ, "user_properties", True),
    ("firstMessageTime", T, "first_message_time", False),
    ("lastMessageTime", T, "last_message_time", False),
    ("lastUpdated", T, "last_updated", False),
    # Stored on the thread, set with every write of its feedback (store/threads.py).
    ("hasPositiveFeedback", B, "has_positive_feedback", False),
    ("hasNegativeFeedback", B, "has_negative_feedback", False),
    ("conversationIds", A, "conversation_ids", False),
    ("areAIAnnotationsVerified", B, "are_ai_annotations_verified", True),
    ("isInitialQuestionAnswer", B, "is_initial_question_answer", False),
)

SEMANTIC_THREADS = Resource(
    name="semantic-threads",
    view="semantic_threads_view",
    table=semantic_threads,
    main_time="firstMessageTime",
    fields=_THREAD_FIELDS,
    search_columns=("question", "answer", "subject", "gap_summary"),
)

RESOURCES: dict[str, Resource] = {
    r.name: r for r in (CONVERSATIONS, EVENTS, FEEDBACK, SEMANTIC_THREADS)
}
VIEWS: dict[str, Resource] = {r.view: r for r in RESOURCES.values()}

AGGREGATIONS = ("sum", "count", "countDistinct", "avg", "min", "max")
TIME_UNITS = ("hour", "day", "week", "month")
# The aggregations that have order-by names (API.md §4.6: no countDistinct).
_ORDERABLE_AGGREGATIONS = ("sum", "count", "avg", "min", "max")


def order_by_names(resource: Resource) -> list[str]:
    """The resource's complete order-by enum, in the SDK's order (Appendix A)."""
    names = list(resource.fields)
    names += [f"{f}_{u}" for f in resource.fields for u in TIME_UNITS]
    names += [f"{a}_{f}" for a in _ORDERABLE_AGGREGATIONS for f in resource.fields]
    return names
