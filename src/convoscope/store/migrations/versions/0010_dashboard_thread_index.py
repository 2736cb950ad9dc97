"""dashboard thread index: the annotations the dashboard groups by, in time order

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEX = "ix_semantic_threads_dashboard"
# Every dashboard report over threads filters on first_message_time (and maybe the
# integration) and groups by a few annotations. Through the (project_id,
# first_message_time) index each thread was fetched from the table, whose rows are large
# (question and answer text): sentiment per 30 days of 20,000 conversations took 48 ms on
# SQLite. The index holds all the columns those reports read, so they never visit the
# table.
COLUMNS = [
    "project_id",
    "first_message_time",
    "integration_id",
    "category",
    "sentiment",
    "is_documented",
    "is_answer_confident",
    "is_feature_supported",
    "subject",
]


def upgrade() -> None:
    op.create_index(INDEX, "semantic_threads", COLUMNS)
    # Statistics at once, as 0007 explains.
    analyzed = INDEX if op.get_bind().dialect.name == "sqlite" else "semantic_threads"
    op.execute(f"ANALYZE {analyzed}")


def downgrade() -> None:
    op.drop_index(INDEX, table_name="semantic_threads")
