"""semantic threads: one question and its answer per row, derived from conversations

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Declared here, not imported from tables.py: a migration must not change when the models do.
JSON_ = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "semantic_threads",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=512), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("first_position", sa.Integer(), nullable=False),
        sa.Column("last_position", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.String(length=64), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("question_length", sa.Integer(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("message_ids", JSON_, nullable=False),
        sa.Column("messages_count", sa.Integer(), nullable=False),
        sa.Column("conversation_ids", JSON_, nullable=False),
        sa.Column("properties", JSON_, nullable=True),
        sa.Column("user_properties", JSON_, nullable=True),
        sa.Column("first_message_time", TIMESTAMP, nullable=False),
        sa.Column("last_message_time", TIMESTAMP, nullable=False),
        sa.Column("last_updated", TIMESTAMP, nullable=False),
        sa.Column("is_initial_question_answer", sa.Boolean(), nullable=False),
        sa.Column("is_on_topic", sa.Boolean(), nullable=True),
        sa.Column("is_clear", sa.Boolean(), nullable=True),
        sa.Column("is_documented", sa.Boolean(), nullable=True),
        sa.Column("is_feature_supported", sa.Boolean(), nullable=True),
        sa.Column("is_answer_confident", sa.Boolean(), nullable=True),
        sa.Column("gap_summary", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("languages", JSON_, nullable=True),
        sa.Column("first_party_entities", JSON_, nullable=True),
        sa.Column("third_party_entities", JSON_, nullable=True),
        sa.Column("emotion", sa.Text(), nullable=True),
        sa.Column("sentiment", sa.Text(), nullable=True),
        sa.Column("question_type", sa.Text(), nullable=True),
        sa.Column("are_ai_annotations_verified", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_semantic_threads")),
    )
    op.create_index(
        op.f("ix_semantic_threads_project_id_first_message_time"),
        "semantic_threads",
        ["project_id", "first_message_time"],
        unique=False,
    )
    op.create_index(
        op.f("ix_semantic_threads_project_id_conversation_id_position"),
        "semantic_threads",
        ["project_id", "conversation_id", "position"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_semantic_threads_project_id_conversation_id_position"),
        table_name="semantic_threads",
    )
    op.drop_index(
        op.f("ix_semantic_threads_project_id_first_message_time"), table_name="semantic_threads"
    )
    op.drop_table("semantic_threads")
