"""dashboard indexes: conversations by type and integration, search events by time

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_project_id_type_integration_id",
        "conversations",
        ["project_id", "type", "integration_id"],
    )
    op.create_index(
        "ix_events_project_id_entity_type_created_at",
        "events",
        ["project_id", "entity_type", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_events_project_id_entity_type_created_at", table_name="events")
    op.drop_index("ix_conversations_project_id_type_integration_id", table_name="conversations")
