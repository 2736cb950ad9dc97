"""annotation state: the worker's bookkeeping on each thread, and each project's context

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON_ = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("semantic_threads") as batch:
        batch.add_column(
            sa.Column(
                "annotation_status", sa.String(length=16), nullable=False, server_default="pending"
            )
        )
        batch.add_column(
            sa.Column("annotation_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("annotation_due_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("annotation_claimed_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("annotation_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("annotated_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("verified_fields", JSON_, nullable=True))
        batch.create_index(
            "ix_semantic_threads_project_id_annotation_status",
            ["project_id", "annotation_status"],
        )
    op.create_table(
        "annotation_contexts",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("glossary", JSON_, nullable=True),
        sa.Column("learned_glossary", JSON_, nullable=True),
        sa.Column("category_model", JSON_, nullable=True),
        sa.Column("fitted_threads", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_annotation_contexts")),
    )


def downgrade() -> None:
    op.drop_table("annotation_contexts")
    with op.batch_alter_table("semantic_threads") as batch:
        batch.drop_index("ix_semantic_threads_project_id_annotation_status")
        for column in (
            "verified_fields",
            "annotated_by",
            "annotation_error",
            "annotation_claimed_at",
            "annotation_due_at",
            "annotation_attempts",
            "annotation_status",
        ):
            batch.drop_column(column)
