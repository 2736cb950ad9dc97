"""verified fields by column: a thread's verified_fields names columns, not wire names

Revision ID: 0014
Revises: 0013

``semantic_threads.verified_fields`` held the API's names of the fields a person
verified (``isDocumented``), so the store kept a map of the wire names to translate
them on every write. Storage now speaks column names only (``is_documented``); the API
translates. This rewrites the lists already stored, each name in place, order kept.
Only threads a person verified hold a list, a few rows of any project: they are read
and written back one statement for all of them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON_ = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
# The fourteen annotation fields as they were named on 2026-12-04, frozen here.
WIRE_TO_COLUMN = {
    "isOnTopic": "is_on_topic",
    "isClear": "is_clear",
    "isDocumented": "is_documented",
    "isFeatureSupported": "is_feature_supported",
    "isAnswerConfident": "is_answer_confident",
    "gapSummary": "gap_summary",
    "subject": "subject",
    "category": "category",
    "languages": "languages",
    "firstPartyEntities": "first_party_entities",
    "thirdPartyEntities": "third_party_entities",
    "emotion": "emotion",
    "sentiment": "sentiment",
    "questionType": "question_type",
}
COLUMN_TO_WIRE = {column: wire for wire, column in WIRE_TO_COLUMN.items()}

threads = sa.table(
    "semantic_threads",
    sa.column("project_id", sa.String()),
    sa.column("id", sa.String()),
    sa.column("verified_fields", JSON_),
)


def _rename(names: dict[str, str]) -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(threads.c.project_id, threads.c.id, threads.c.verified_fields).where(
            threads.c.verified_fields.is_not(None)
        )
    ).all()
    changed = []
    for project_id, thread_id, fields in rows:
        if not isinstance(fields, list):
            continue
        renamed = [names.get(name, name) for name in fields]
        if renamed != fields:
            changed.append({"p": project_id, "i": thread_id, "fields": renamed})
    if changed:
        conn.execute(
            sa.update(threads)
            .where(threads.c.project_id == sa.bindparam("p"), threads.c.id == sa.bindparam("i"))
            .values(verified_fields=sa.bindparam("fields", type_=JSON_)),
            changed,
        )


def upgrade() -> None:
    _rename(WIRE_TO_COLUMN)


def downgrade() -> None:
    _rename(COLUMN_TO_WIRE)
