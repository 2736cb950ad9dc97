"""The schema, as SQLAlchemy Core tables.

Every table carries ``project_id`` and every primary key and index leads with it, so the
tables can be distributed on ``project_id`` (Citus) and no query ever crosses projects.
The one exception is ``api_keys.key_hash``: a request arrives with a key and nothing else,
so the key must be found before its project is known.

The migrations under ``migrations/versions`` build exactly this schema; a test compares
the two.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from convoscope.store.types import JsonDoc, UtcDateTime

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
    # Stored rather than recomputed: every analytics query reads them.
    Column("first_message_time", UtcDateTime, nullable=False),
    Column("last_message_time", UtcDateTime, nullable=False),
    Column("message_count", Integer, nullable=False),
    Column("user_message_count", Integer, nullable=False),
    Index(None, "project_id", "created_at"),
    Index(None, "project_id", "first_message_time"),
    Index(None, "project_id", "external_id"),
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
    Index(None, "project_id", "created_at"),
    Index(None, "project_id", "conversation_id"),
    Index(None, "project_id", "message_id"),
)
