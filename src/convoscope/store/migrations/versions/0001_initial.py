"""initial schema: tenancy, keys, conversations, messages, feedback, events

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Declared here, not imported from tables.py: a migration must not change when the models do.
JSON_ = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "conversations",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=512), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=512), nullable=True),
        sa.Column("external_url", sa.Text(), nullable=True),
        sa.Column("support_ticket_conversation_id", sa.String(length=512), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=True),
        sa.Column("properties", JSON_, nullable=True),
        sa.Column("user_properties", JSON_, nullable=True),
        sa.Column("tags", JSON_, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("first_message_time", TIMESTAMP, nullable=False),
        sa.Column("last_message_time", TIMESTAMP, nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("user_message_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_conversations")),
    )
    op.create_index(
        op.f("ix_conversations_project_id_created_at"),
        "conversations",
        ["project_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_conversations_project_id_external_id"),
        "conversations",
        ["project_id", "external_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_conversations_project_id_first_message_time"),
        "conversations",
        ["project_id", "first_message_time"],
        unique=False,
    )
    op.create_table(
        "events",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=512), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=512), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.String(length=64), nullable=True),
        sa.Column("message_id", sa.String(length=512), nullable=True),
        sa.Column("conversation_id", sa.String(length=512), nullable=True),
        sa.Column("search_query", sa.Text(), nullable=True),
        sa.Column("properties", JSON_, nullable=True),
        sa.Column("user_properties", JSON_, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_events")),
    )
    op.create_index(
        op.f("ix_events_project_id_conversation_id"),
        "events",
        ["project_id", "conversation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_events_project_id_created_at"),
        "events",
        ["project_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_events_project_id_message_id"),
        "events",
        ["project_id", "message_id"],
        unique=False,
    )
    op.create_table(
        "feedback",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=512), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=512), nullable=False),
        sa.Column("conversation_id", sa.String(length=512), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.String(length=64), nullable=True),
        sa.Column("reasons", JSON_, nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("sources", JSON_, nullable=True),
        sa.Column("properties", JSON_, nullable=True),
        sa.Column("user_properties", JSON_, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_feedback")),
    )
    op.create_index(
        op.f("ix_feedback_project_id_conversation_id"),
        "feedback",
        ["project_id", "conversation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_feedback_project_id_created_at"),
        "feedback",
        ["project_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_feedback_project_id_message_id"),
        "feedback",
        ["project_id", "message_id"],
        unique=False,
    )
    op.create_table(
        "integrations",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_integrations")),
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint(
            "organization_id", "name", name=op.f("uq_projects_organization_id_name")
        ),
    )
    op.create_table(
        "messages",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=512), nullable=False),
        sa.Column("conversation_id", sa.String(length=512), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("content", JSON_, nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("tool_calls", JSON_, nullable=True),
        sa.Column("links", JSON_, nullable=True),
        sa.Column("properties", JSON_, nullable=True),
        sa.Column("user_properties", JSON_, nullable=True),
        sa.Column("external_id", sa.String(length=512), nullable=True),
        sa.Column("external_url", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id", "conversation_id"],
            ["conversations.project_id", "conversations.id"],
            name=op.f("fk_messages_project_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_messages")),
    )
    op.create_index(
        op.f("ix_messages_project_id_conversation_id_position"),
        "messages",
        ["project_id", "conversation_id", "position"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_messages_project_id_conversation_id_position"), table_name="messages")
    op.drop_table("messages")
    op.drop_table("projects")
    op.drop_table("organizations")
    op.drop_table("integrations")
    op.drop_index(op.f("ix_feedback_project_id_message_id"), table_name="feedback")
    op.drop_index(op.f("ix_feedback_project_id_created_at"), table_name="feedback")
    op.drop_index(op.f("ix_feedback_project_id_conversation_id"), table_name="feedback")
    op.drop_table("feedback")
    op.drop_index(op.f("ix_events_project_id_message_id"), table_name="events")
    op.drop_index(op.f("ix_events_project_id_created_at"), table_name="events")
    op.drop_index(op.f("ix_events_project_id_conversation_id"), table_name="events")
    op.drop_table("events")
    op.drop_index(
        op.f("ix_conversations_project_id_first_message_time"), table_name="conversations"
    )
    op.drop_index(op.f("ix_conversations_project_id_external_id"), table_name="conversations")
    op.drop_index(op.f("ix_conversations_project_id_created_at"), table_name="conversations")
    op.drop_table("conversations")
    op.drop_table("api_keys")
