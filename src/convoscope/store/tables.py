"""The schema, as SQLAlchemy Core tables.

Every table carries ``project_id`` and every primary key and index leads with it, so the
tables can be distributed on ``project_id`` (Citus) and no query ever crosses projects.
The one exception is ``api_keys.key_hash``: a request arrives with a key and nothing else,
so the key must be found before its project is known.

The migrations under ``migrations/versions`` build exactly this schema; a test compares
the two.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Computed,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement

from convoscope.store.types import JsonDoc, UtcDateTime


class _PerDialect(ColumnElement[Any]):
    """SQL text that differs by dialect: the expression of a generated column."""

    inherit_cache = True

    def __init__(self, sqlite: str, postgresql: str) -> None:
        self.by_dialect = {"sqlite": sqlite, "postgresql": postgresql}


@compiles(_PerDialect)
def _per_dialect(element: _PerDialect, compiler: SQLCompiler, **kw: Any) -> str:
    return element.by_dialect[compiler.dialect.name]


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("organization_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("organization_id", "name"),
)

integrations = Table(
    "integrations",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("type", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("integration_id", String(64), nullable=False),
    Column("key_hash", String(64), nullable=False),
    # The first characters of the key, shown in listings so a person can tell keys apart.
    Column("key_prefix", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    UniqueConstraint("key_hash"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("id", String(512), primary_key=True),
    Column("type", String(32), nullable=False),
    Column("organization_id", String(64), nullable=False),
    Column("integration_id", String(64)),
    Column("external_id", String(512)),
    Column("external_url", Text),
    Column("support_ticket_conversation_id", String(512)),
    Column("visibility", String(16)),
    Column("properties", JsonDoc),
    Column("user_properties", JsonDoc),
    Column("tags", JsonDoc),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # When the conversation was last logged: the updatedAt of each message sent without
    # one (migration 0012), stored here once rather than on every message at every log.
    Column("logged_at", UtcDateTime),
    # A digest of each message as last sent, and one of them all (store/conversations.py,
    # message_digests): what tells the messages a re-log changed without reading the
    # stored ones.
    Column("message_digests", JsonDoc),
    # Stored rather than recomputed: every analytics query reads them.
    Column("first_message_time", UtcDateTime, nullable=False),
    Column("last_message_time", UtcDateTime, nullable=False),
    Column("message_count", Integer, nullable=False),
    Column("user_message_count", Integer, nullable=False),
    # Generated: the UTC day of first_message_time, as the query compiler's day bucket
    # computes it, for the dashboard's "conversations per day" (migration 0007). Virtual
    # on SQLite, where only its index holds it.
    Column(
        "first_message_day",
        Text().with_variant(DateTime(), "postgresql"),
        Computed(
            _PerDialect(
                sqlite="substr(first_message_time, 1, 10)",
                postgresql="date_trunc('day', timezone('UTC', first_message_time))",
            )
        ),
    ),
    Index(None, "project_id", "created_at"),
    Index(None, "project_id", "first_message_time"),
    Index(None, "project_id", "first_message_day"),
    Index(None, "project_id", "external_id"),
    # Covers the dashboard's "conversations per type and integration" without the table.
    Index(None, "project_id", "type", "integration_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("id", String(512), primary_key=True),
    Column("conversation_id", String(512), nullable=False),
    Column("position", Integer, nullable=False),
    Column("role", String(64), nullable=False),
    # A string, a list of content parts, or NULL (support messages without text).
    Column("content", JsonDoc),
    Column("name", Text),
    Column("tool_calls", JsonDoc),
    Column("links", JsonDoc),
    Column("properties", JsonDoc),
    Column("user_properties", JsonDoc),
    Column("external_id", String(512)),
    Column("external_url", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # True: the message was sent without updatedAt and reads its conversation's
    # logged_at (updated_at then holds the time it was first written).
    Column("updated_with_log", Boolean),
    ForeignKeyConstraint(
        ["project_id", "conversation_id"],
        ["conversations.project_id", "conversations.id"],
        ondelete="CASCADE",
    ),
    Index(None, "project_id", "conversation_id", "position", unique=True),
)

feedback = Table(
    "feedback",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("id", String(512), primary_key=True),
    Column("type", String(16), nullable=False),
    Column("message_id", String(512), nullable=False),
    Column("conversation_id", String(512), nullable=False),
    Column("organization_id", String(64), nullable=False),
    Column("integration_id", String(64)),
    Column("reasons", JsonDoc),
    Column("details", Text),
    Column("sources", JsonDoc),
    Column("properties", JsonDoc),
    Column("user_properties", JsonDoc),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "project_id", "created_at"),
    Index(None, "project_id", "conversation_id"),
    Index(None, "project_id", "message_id"),
)

events = Table(
    "events",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("id", String(512), primary_key=True),
    Column("entity_type", String(16), nullable=False),
    Column("type", String(512), nullable=False),
    Column("organization_id", String(64), nullable=False),
    Column("integration_id", String(64)),
    # No foreign keys: events may arrive before the conversation they belong to.
    Column("message_id", String(512)),
    Column("conversation_id", String(512)),
    Column("search_query", Text),
    Column("properties", JsonDoc),
    Column("user_properties", JsonDoc),
    Column("created_at", UtcDateTime, nullable=False),
    # Generated for the two search reports (query/searches.py): the UTC week (Monday) of
    # created_at, and the user as JSON text (userProperties.id, else userId). Virtual on
    # SQLite, where only the search indexes below hold them; PostgreSQL 15 can only store
    # them.
    Column(
        "created_week",
        Text().with_variant(DateTime(), "postgresql"),
        Computed(
            _PerDialect(
                sqlite="date(substr(created_at, 1, 10), 'weekday 0', '-6 days')",
                postgresql="date_trunc('week', timezone('UTC', created_at))",
            )
        ),
    ),
    Column(
        "user_identity",
        Text,
        Computed(
            _PerDialect(
                sqlite="coalesce(NULLIF((user_properties -> '$.\"id\"'), 'null'), "
                "NULLIF((user_properties -> '$.\"userId\"'), 'null'))",
                postgresql="CAST(coalesce(NULLIF(user_properties -> 'id', 'null'), "
                "NULLIF(user_properties -> 'userId', 'null')) AS TEXT)",
            )
        ),
    ),
    Index(None, "project_id", "created_at"),
    Index(None, "project_id", "conversation_id"),
    Index(None, "project_id", "message_id"),
    # Partial: only search events, which the search reports read from these alone.
    Index(
        None,
        "project_id",
        "created_week",
        "user_identity",
        "created_at",
        sqlite_where=text("entity_type = 'search'"),
        postgresql_where=text("entity_type = 'search'"),
    ),
    Index(
        None,
        "project_id",
        "search_query",
        "created_at",
        sqlite_where=text("entity_type = 'search'"),
        postgresql_where=text("entity_type = 'search'"),
    ),
)

# One question and its answer, derived from a conversation on every upsert (API.md §4.10).
# The annotation columns (is_on_topic … are_ai_annotations_verified) stay NULL until an
# annotator fills them. The feedback flags are stored (migration 0013) and set in the
# same transaction as every write of the thread or of feedback on its messages
# (store/threads.py, ``feedback_flag``), so they never lag the feedback table.
semantic_threads = Table(
    "semantic_threads",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("conversation_id", String(512), nullable=False),
    Column("position", Integer, nullable=False),
    Column("first_position", Integer, nullable=False),
    Column("last_position", Integer, nullable=False),
    Column("organization_id", String(64), nullable=False),
    Column("integration_id", String(64)),
    Column("question", Text, nullable=False),
    Column("question_length", Integer, nullable=False),
    Column("answer", Text, nullable=False),
    Column("message_ids", JsonDoc, nullable=False),
    Column("messages_count", Integer, nullable=False),
    Column("conversation_ids", JsonDoc, nullable=False),
    Column("properties", JsonDoc),
    Column("user_properties", JsonDoc),
    Column("first_message_time", UtcDateTime, nullable=False),
    Column("last_message_time", UtcDateTime, nullable=False),
    Column("last_updated", UtcDateTime, nullable=False),
    Column("is_initial_question_answer", Boolean, nullable=False),
    Column("has_positive_feedback", Boolean, nullable=False, server_default=text("false")),
    Column("has_negative_feedback", Boolean, nullable=False, server_default=text("false")),
    Column("is_on_topic", Boolean),
    Column("is_clear", Boolean),
    Column("is_documented", Boolean),
    Column("is_feature_supported", Boolean),
    Column("is_answer_confident", Boolean),
    Column("gap_summary", Text),
    Column("subject", Text),
    Column("category", Text),
    Column("languages", JsonDoc),
    Column("first_party_entities", JsonDoc),
    Column("third_party_entities", JsonDoc),
    Column("emotion", Text),
    Column("sentiment", Text),
    Column("question_type", Text),
    Column("are_ai_annotations_verified", Boolean),
    # The annotation worker's bookkeeping: pending -> claimed -> done, or failed after
    # repeated errors. A claim older than the lease is taken again (the worker died).
    Column("annotation_status", String(16), nullable=False, server_default="pending"),
    Column("annotation_attempts", Integer, nullable=False, server_default="0"),
    Column("annotation_due_at", UtcDateTime),
    Column("annotation_claimed_at", UtcDateTime),
    Column("annotation_error", Text),
    # Which analyzer and version wrote the annotations, e.g. offline:1 or llm:gpt-4o:p1.
    Column("annotated_by", String(128)),
    # Columns of the fields a person set (migration 0014: wire names before); re-annotation
    # never overwrites them.
    Column("verified_fields", JsonDoc),
    Index(None, "project_id", "first_message_time"),
    Index(None, "project_id", "conversation_id", "position", unique=True),
    Index(None, "project_id", "annotation_status"),
    # Covers the dashboard's reports over threads (migration 0010) and the threads the
    # conversation list's filters pick (0013: the feedback flags and conversation_id).
    Index(
        "ix_semantic_threads_dashboard",
        "project_id",
        "first_message_time",
        "integration_id",
        "category",
        "sentiment",
        "is_documented",
        "is_answer_confident",
        "is_feature_supported",
        "subject",
        "has_positive_feedback",
        "has_negative_feedback",
        "conversation_id",
    ),
)

# The dashboard's counts per project, UTC day and integration, kept up to date in the same
# transaction as every write they count (store/summaries.py; migration 0013). A primary
# key column cannot be NULL, so a missing integration, category or sentiment is '' and an
# unknown boolean annotation is -1 (else 0 or 1). Rows whose counts reach 0 are deleted.
conversation_days = Table(
    "conversation_days",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("integration_id", String(64), primary_key=True),
    Column("conversations", Integer, nullable=False),
)

# Who logged conversations on a day: the JSON text of userProperties.id (its first 256
# characters), as the query engine's countDistinct compares it. Unique users of a period
# are the distinct keys over its days; forgetting a user deletes their rows with their
# conversations.
user_days = Table(
    "user_days",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("integration_id", String(64), primary_key=True),
    Column("user_key", Text, primary_key=True),
    Column("conversations", Integer, nullable=False),
)

# Feedback by the day it was given (created_at) and its type.
feedback_days = Table(
    "feedback_days",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("integration_id", String(64), primary_key=True),
    Column("type", String(16), primary_key=True),
    Column("feedback", Integer, nullable=False),
)

# Questions (semantic threads) by the day of their first message and the annotations the
# dashboard groups by, with how many of them got positive and negative feedback.
thread_days = Table(
    "thread_days",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("integration_id", String(64), primary_key=True),
    Column("category", Text, primary_key=True),
    Column("sentiment", Text, primary_key=True),
    Column("documented", SmallInteger, primary_key=True),
    Column("confident", SmallInteger, primary_key=True),
    Column("questions", Integer, nullable=False),
    Column("positive", Integer, nullable=False),
    Column("negative", Integer, nullable=False),
)

# What the annotator knows about a project: its glossary of first-party terms (set with
# the CLI, and learned from the titles of cited links) and its category model.
annotation_contexts = Table(
    "annotation_contexts",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("glossary", JsonDoc),
    Column("learned_glossary", JsonDoc),
    Column("category_model", JsonDoc),
    # Threads the category model was fitted on; it is refitted when the project doubles.
    Column("fitted_threads", Integer, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime, nullable=False),
)

# The JSON paths an operator chose to index (indexing/path_indexes.py). The server's, not a
# project's: each index spans every project, led by project_id.
path_indexes = Table(
    "path_indexes",
    metadata,
    # A digest of (table, column, path); it also names the index and generated column.
    Column("name", String(16), primary_key=True),
    Column("resource", String(32), nullable=False),
    Column("field", String(32), nullable=False),
    Column("path", JsonDoc, nullable=False),
    # operator (convoscope indexes create) or server (after slow queries).
    Column("created_by", String(16), nullable=False, server_default="operator"),
    # active, or declined: dropped by the operator, never to be made again by the server.
    Column("state", String(16), nullable=False, server_default="active"),
    Column("created_at", UtcDateTime, nullable=False),
)

# Dashboard sign-in (migration 0008). People, unlike API keys, span projects, so the
# user, link and session tables are small shared tables (Citus reference tables); what a
# person may see is a membership, which belongs to its project like every other row.
dashboard_users = Table(
    "dashboard_users",
    metadata,
    Column("id", String(64), primary_key=True),
    # Stored lower-cased: sign-in compares emails without regard to case.
    Column("email", String(320), nullable=False),
    # argon2id, or NULL for a person who signs in by link only.
    Column("password_hash", Text),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("email"),
)

project_members = Table(
    "project_members",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    # admin (settings, keys, users) or viewer (reads only).
    Column("role", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # A signed-in person's projects are looked up by user on every page.
    Index(None, "user_id"),
)

# One-time sign-in links and sessions, stored by the SHA-256 of their random token (32
# bytes), as API keys are: a stolen table holds nothing that signs anyone in.
signin_links = Table(
    "signin_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
)

dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    # Sent back with every form that changes state (a synchronizer token).
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "user_id"),
)

# Secrets the server makes for itself on first use (the session cookie's signing key),
# so that sessions survive a restart without a setting to manage.
server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# A project's data-protection settings (store/privacy.py). No row: nothing redacted,
# everything kept.
project_settings = Table(
    "project_settings",
    metadata,
    Column("project_id", String(64), primary_key=True),
    # {"kinds": [...], "hash": bool, "allowKeys": [...], "denyKeys": [...]}; NULL: off.
    Column("redaction", JsonDoc),
    # The project's HMAC key for hashed placeholders, hex; made when hashing is turned on.
    Column("redaction_key", String(64)),
    # Conversations older than this many days are deleted; NULL keeps them forever.
    Column("retention_days", Integer),
    # userProperties keys besides id and userId that identify a person, for forgetting.
    Column("user_identifiers", JsonDoc),
    Column("updated_at", UtcDateTime, nullable=False),
)

# What was erased and when (forget, retention), with counts and never the data itself.
erasures = Table(
    "erasures",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    # forget or retention.
    Column("reason", String(16), nullable=False),
    # cli, or the id of the API key that asked.
    Column("requested_by", String(80), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    Column("conversations", Integer, nullable=False),
    Column("messages", Integer, nullable=False),
    Column("feedback", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("threads", Integer, nullable=False),
    Index(None, "project_id", "started_at"),
)
