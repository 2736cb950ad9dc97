"""message times of a log: a message's updatedAt may be its conversation's last log,
and a digest of each message as last sent

Revision ID: 0012
Revises: 0011

A message sent without ``updatedAt`` reads as updated when its conversation was last
logged (API.md §4.1: "set updatedAt to now unless provided. Same rule per message"). A
re-log that rewrote every message to say so wrote n rows for an n-message conversation;
an upsert now writes only the messages that changed, so the time is stored once on the
conversation (``logged_at``) and each message says whether it follows it
(``updated_with_log``). Rows from before keep the time they were written with.
``message_digests`` holds a digest of each message as it was last sent, so that a
re-log finds the first changed message without reading the stored ones. The columns
are added, not altered: no table is copied.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON_ = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.add_column(
        "conversations", sa.Column("logged_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("conversations", sa.Column("message_digests", JSON_, nullable=True))
    op.add_column("messages", sa.Column("updated_with_log", sa.Boolean(), nullable=True))


def downgrade() -> None:
    # The times messages read as before the columns go: that of their conversation's log.
    op.execute(
        "UPDATE messages SET updated_at = (SELECT c.logged_at FROM conversations c "
        "WHERE c.project_id = messages.project_id AND c.id = messages.conversation_id) "
        "WHERE updated_with_log AND EXISTS (SELECT 1 FROM conversations c "
        "WHERE c.project_id = messages.project_id AND c.id = messages.conversation_id "
        "AND c.logged_at IS NOT NULL)"
    )
    # Not batch mode: a copy of conversations cannot insert into its generated column.
    op.execute("ALTER TABLE messages DROP COLUMN updated_with_log")
    op.execute("ALTER TABLE conversations DROP COLUMN message_digests")
    op.execute("ALTER TABLE conversations DROP COLUMN logged_at")
