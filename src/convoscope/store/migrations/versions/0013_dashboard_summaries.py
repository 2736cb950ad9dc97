"""dashboard summaries: counts per day kept on write, feedback flags stored on threads

Revision ID: 0013
Revises: 0012

At 1,000,000 conversations the overview took 4.0 s on SQLite (unique users read every
conversation's JSON in the window, twice), topics 1.9 s and the conversation list
filtered by feedback 4.3 s (feedback flags were an EXISTS over feedback and messages
for every thread). The write path now keeps counts per project, UTC day and
integration (store/summaries.py) and each thread's feedback flags; this builds both
for the data already stored, with the same definitions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("conversation_days", "user_days", "feedback_days", "thread_days")
INDEX = "ix_semantic_threads_dashboard"
# 0010's columns; the conversation list's filters on threads (category, sentiment,
# feedback) read them with the flags and conversation_id from the index alone.
INDEX_COLUMNS = ["project_id", "first_message_time", "integration_id", "category",
                 "sentiment", "is_documented", "is_answer_confident", "is_feature_supported",
                 "subject"]  # fmt: skip
ADDED_COLUMNS = ["has_positive_feedback", "has_negative_feedback", "conversation_id"]


def _key(name: str, type_: Any) -> sa.Column[Any]:
    return sa.Column(name, type_, primary_key=True, nullable=False)


def _count(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=False)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in ("has_positive_feedback", "has_negative_feedback"):
        op.add_column(
            "semantic_threads",
            sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.text("false")),
        )

    def base() -> list[sa.Column[Any]]:
        return [_key("project_id", sa.String(64)), _key("day", sa.String(10)),
                _key("integration_id", sa.String(64))]  # fmt: skip

    op.create_table(
        "conversation_days",
        *base(),
        _count("conversations"),
        sa.PrimaryKeyConstraint("project_id", "day", "integration_id",
                                name="pk_conversation_days"),
    )  # fmt: skip
    op.create_table(
        "user_days",
        *base(),
        _key("user_key", sa.Text()),
        _count("conversations"),
        sa.PrimaryKeyConstraint("project_id", "day", "integration_id", "user_key",
                                name="pk_user_days"),
    )  # fmt: skip
    op.create_table(
        "feedback_days",
        *base(),
        _key("type", sa.String(16)),
        _count("feedback"),
        sa.PrimaryKeyConstraint("project_id", "day", "integration_id", "type",
                                name="pk_feedback_days"),
    )  # fmt: skip
    op.create_table(
        "thread_days",
        *base(),
        _key("category", sa.Text()),
        _key("sentiment", sa.Text()),
        _key("documented", sa.SmallInteger()),
        _key("confident", sa.SmallInteger()),
        _count("questions"),
        _count("positive"),
        _count("negative"),
        sa.PrimaryKeyConstraint("project_id", "day", "integration_id", "category",
                                "sentiment", "documented", "confident", name="pk_thread_days"),
    )  # fmt: skip
    _backfill(dialect)
    op.drop_index(INDEX, table_name="semantic_threads")
    op.create_index(INDEX, "semantic_threads", INDEX_COLUMNS + ADDED_COLUMNS)
    op.execute(f"ANALYZE {INDEX if dialect == 'sqlite' else 'semantic_threads'}")


def _flag(kind: str) -> str:
    # store/threads.py feedback_flag, as of this revision.
    return (
        "EXISTS (SELECT 1 FROM feedback JOIN messages ON messages.project_id = "
        "feedback.project_id AND messages.id = feedback.message_id "
        "WHERE feedback.project_id = semantic_threads.project_id "
        "AND feedback.conversation_id = semantic_threads.conversation_id "
        f"AND feedback.type = '{kind}' AND messages.position BETWEEN "
        "semantic_threads.first_position AND semantic_threads.last_position)"
    )


def _backfill(dialect: str) -> None:
    op.execute(
        f"UPDATE semantic_threads SET has_positive_feedback = {_flag('positive')}, "
        f"has_negative_feedback = {_flag('negative')} "
        "WHERE EXISTS (SELECT 1 FROM feedback WHERE feedback.project_id = "
        "semantic_threads.project_id AND feedback.conversation_id = "
        "semantic_threads.conversation_id)"
    )

    # store/summaries.py DayOf and user_key, as of this revision.
    def day(column: str) -> str:
        if dialect == "sqlite":
            return f"substr({column}, 1, 10)"
        return f"to_char(timezone('UTC', {column}), 'YYYY-MM-DD')"

    if dialect == "sqlite":
        user = "substr(CAST(NULLIF(user_properties -> '$.\"id\"', 'null') AS TEXT), 1, 256)"
    else:
        user = "substr(CAST(NULLIF(user_properties -> 'id', 'null'::jsonb) AS TEXT), 1, 256)"

    def tri(column: str) -> str:
        return f"CASE WHEN {column} IS NULL THEN -1 WHEN {column} THEN 1 ELSE 0 END"

    def flag(column: str) -> str:
        return f"CASE WHEN {column} THEN 1 ELSE 0 END"

    op.execute(
        "INSERT INTO conversation_days (project_id, day, integration_id, conversations) "
        "SELECT project_id, d, i, count(*) FROM (SELECT project_id, "
        f"{day('first_message_time')} AS d, coalesce(integration_id, '') AS i "
        "FROM conversations) AS s GROUP BY project_id, d, i"
    )
    op.execute(
        "INSERT INTO user_days (project_id, day, integration_id, user_key, conversations) "
        "SELECT project_id, d, i, u, count(*) FROM (SELECT project_id, "
        f"{day('first_message_time')} AS d, coalesce(integration_id, '') AS i, {user} AS u "
        "FROM conversations) AS s WHERE u IS NOT NULL GROUP BY project_id, d, i, u"
    )
    op.execute(
        "INSERT INTO feedback_days (project_id, day, integration_id, type, feedback) "
        "SELECT project_id, d, i, type, count(*) FROM (SELECT project_id, "
        f"{day('created_at')} AS d, coalesce(integration_id, '') AS i, type "
        "FROM feedback) AS s GROUP BY project_id, d, i, type"
    )
    op.execute(
        "INSERT INTO thread_days (project_id, day, integration_id, category, sentiment, "
        "documented, confident, questions, positive, negative) "
        "SELECT project_id, d, i, c, s, doc, conf, count(*), sum(pos), sum(neg) FROM ("
        f"SELECT project_id, {day('first_message_time')} AS d, "
        "coalesce(integration_id, '') AS i, coalesce(category, '') AS c, "
        f"coalesce(sentiment, '') AS s, {tri('is_documented')} AS doc, "
        f"{tri('is_answer_confident')} AS conf, {flag('has_positive_feedback')} AS pos, "
        f"{flag('has_negative_feedback')} AS neg FROM semantic_threads) AS t "
        "GROUP BY project_id, d, i, c, s, doc, conf"
    )
    for table in TABLES:
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    op.drop_index(INDEX, table_name="semantic_threads")
    op.create_index(INDEX, "semantic_threads", INDEX_COLUMNS)
    for table in reversed(TABLES):
        op.drop_table(table)
    for name in ("has_negative_feedback", "has_positive_feedback"):
        op.execute(f"ALTER TABLE semantic_threads DROP COLUMN {name}")
