"""privacy: each project's redaction and retention settings, and the erasure log

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON_ = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "project_settings",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("redaction", JSON_, nullable=True),
        sa.Column("redaction_key", sa.String(length=64), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("user_identifiers", JSON_, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_settings")),
    )
    op.create_table(
        "erasures",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("feedback", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("threads", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_erasures")),
    )
    op.create_index("ix_erasures_project_id_started_at", "erasures", ["project_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_erasures_project_id_started_at", table_name="erasures")
    op.drop_table("erasures")
    op.drop_table("project_settings")
