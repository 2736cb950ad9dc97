"""feedback of dropped messages: delete feedback whose message a re-log removed

Revision ID: 0011
Revises: 0010

A conversation logged again without one of its messages kept that message's feedback,
and every feedback list of the project then failed (the answer embeds the rated message).
Re-logging now deletes such feedback with its message, as deleting a conversation does;
this removes what earlier re-logs left.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM feedback WHERE NOT EXISTS (SELECT 1 FROM messages "
        "WHERE messages.project_id = feedback.project_id "
        "AND messages.id = feedback.message_id)"
    )


def downgrade() -> None:
    pass  # the deleted feedback named messages that no longer exist
