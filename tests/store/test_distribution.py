"""The live schema stays one Citus can distribute on project_id (store/distribution.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from convoscope.store.distribution import (
    COLOCATION_ANCHOR,
    REFERENCE_TABLES,
    CitusMissing,
    distribute,
    plan,
    schema_problems,
)

pytestmark = pytest.mark.postgres_only


def test_every_table_and_constraint_of_the_migrated_schema_fits_citus(engine: Engine) -> None:
    with engine.connect() as conn:
        assert schema_problems(conn) == []


def test_a_table_without_project_id_or_with_a_unique_key_across_projects_is_named(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id text PRIMARY KEY, body text)"))
        conn.execute(
            text(
                "CREATE TABLE tags (project_id text, id text, name text, conversation_id text,"
                " PRIMARY KEY (project_id, id), UNIQUE (name))"
            )
        )
        conn.execute(text("CREATE UNIQUE INDEX tags_by_conversation ON tags (conversation_id)"))
        conn.execute(
            text(
                "ALTER TABLE tags ADD CONSTRAINT tags_message FOREIGN KEY (id)"
                " REFERENCES organizations (id)"
            )
        )
        problems = schema_problems(conn)
    assert problems == [
        "notes: no project_id column; add one, or list the table in REFERENCE_TABLES if "
        "every project shares it",
        "tags: unique constraint tags_name_key leaves out project_id",
        "tags: unique index tags_by_conversation leaves out project_id",
    ]


def test_a_foreign_key_between_project_tables_must_carry_project_id(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE UNIQUE INDEX conversations_by_id ON conversations (id)"))
        conn.execute(
            text(
                "CREATE TABLE labels (project_id text, id text, conversation_id text"
                " REFERENCES conversations (id), PRIMARY KEY (project_id, id))"
            )
        )
        problems = schema_problems(conn)
    assert problems == [
        "conversations: unique index conversations_by_id leaves out project_id",
        "labels: foreign key labels_conversation_id_fkey to conversations leaves out project_id",
    ]


def test_the_plan_copies_shared_tables_and_colocates_the_rest_parents_first(
    engine: Engine,
) -> None:
    with engine.connect() as conn:
        steps = plan(conn)
    assert set(steps.reference) == REFERENCE_TABLES
    assert steps.distributed[0] == COLOCATION_ANCHOR
    assert {"messages", "feedback", "events", "semantic_threads"} <= set(steps.distributed)
    assert steps.distributed.index("conversations") < steps.distributed.index("messages")


def test_distribute_refuses_a_database_without_the_citus_extension(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(CitusMissing, match="CREATE EXTENSION citus"):
        distribute(conn)
