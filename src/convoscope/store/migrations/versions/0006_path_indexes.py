"""path indexes: the catalog of JSON paths an operator chose to index

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON_ = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "path_indexes",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("resource", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("path", JSON_, nullable=False),
        sa.Column("created_by", sa.String(length=16), nullable=False, server_default="operator"),
        sa.Column("state", sa.String(length=16), nullable=False, server_default="active"),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_path_indexes")),
    )


def downgrade() -> None:
    # The indexes themselves were set aside (SQLite) or stay until dropped (PostgreSQL).
    op.drop_table("path_indexes")
