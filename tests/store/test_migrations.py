"""The migrations build exactly tables.py, and go down to nothing and back up, on both
engines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy.exc import DBAPIError

from convoscope.store import migrate
from convoscope.store.tables import conversations, metadata


def test_migrated_schema_matches_tables_py(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_migrations_go_down_to_base_and_back_up(engine: Engine) -> None:
    head = migrate.head_revision()
    assert migrate.current_revision(engine) == head
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == head
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())


def test_an_index_a_migration_adds_has_statistics_at_once(engine: Engine, dialect: str) -> None:
    """Without them SQLite takes a new index for any project_id = ? and fetches every row
    through it; 0007's index of days is the case."""
    if dialect != "sqlite":
        pytest.skip("PostgreSQL's planner does not assume an unanalyzed index is selective")
    migrate.downgrade(engine, "0006")
    at = datetime(2025, 3, 3, tzinfo=UTC)
    rows = [
        {"project_id": "p", "id": f"c{i}", "type": "openai", "organization_id": "o",
         "properties": {"plan": "pro"}, "created_at": at, "updated_at": at,
         "first_message_time": at, "last_message_time": at, "message_count": 2,
         "user_message_count": 1}
        for i in range(500)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(conversations), rows)
        conn.exec_driver_sql("ANALYZE")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT count(*) FROM conversations "
            "WHERE project_id = 'p' AND instr(properties, 'pro') > 0"
        ).all()
    assert [row[-1] for row in plan] == ["SCAN conversations"]


def test_a_failed_migration_leaves_the_ones_before_it_applied(engine: Engine) -> None:
    """Each migration commits on its own, as the recovery hint and the runbook say."""
    migrate.downgrade(engine, "0008")
    # What 0010 creates, made by hand first: 0010 fails, after 0009 has run.
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE INDEX ix_semantic_threads_dashboard ON semantic_threads (project_id)"
        )
    with pytest.raises(DBAPIError):
        migrate.upgrade(engine)
    assert migrate.current_revision(engine) == "0009"
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_semantic_threads_dashboard")
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_0011_deletes_feedback_whose_message_is_gone(engine: Engine) -> None:
    from convoscope.store.tables import feedback, messages, organizations, projects

    migrate.downgrade(engine, "0010")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id="o", name="o", created_at=now))
        conn.execute(insert(projects).values(id="p", organization_id="o", name="p", created_at=now))
        conn.execute(
            insert(conversations).values(
                project_id="p",
                id="c",
                type="openai",
                organization_id="o",
                created_at=now,
                updated_at=now,
                first_message_time=now,
                last_message_time=now,
                message_count=1,
                user_message_count=1,
            )
        )
        conn.execute(
            insert(messages).values(
                project_id="p",
                id="kept",
                conversation_id="c",
                position=0,
                role="user",
                content="q",
                created_at=now,
                updated_at=now,
            )
        )
        for feedback_id, message_id in (("f-kept", "kept"), ("f-orphan", "dropped")):
            conn.execute(
                insert(feedback).values(
                    project_id="p",
                    id=feedback_id,
                    type="negative",
                    message_id=message_id,
                    conversation_id="c",
                    organization_id="o",
                    created_at=now,
                    updated_at=now,
                )
            )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(feedback.select()).mappings().all()[0]["id"] == "f-kept"
        assert len(conn.execute(feedback.select()).all()) == 1


def test_0014_names_the_verified_fields_by_column_and_back(engine: Engine) -> None:
    from convoscope.store.tables import organizations, projects, semantic_threads

    migrate.downgrade(engine, "0013")
    now = datetime.now(UTC)
    verified = {
        "t-two": ["category", "isDocumented"],
        "t-all": ["firstPartyEntities", "gapSummary", "isOnTopic", "questionType"],
        "t-empty": [],
        "t-none": None,
    }
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id="o", name="o", created_at=now))
        conn.execute(insert(projects).values(id="p", organization_id="o", name="p", created_at=now))
        conn.execute(
            insert(conversations).values(
                project_id="p", id="c", type="openai", organization_id="o", created_at=now,
                updated_at=now, first_message_time=now, last_message_time=now,
                message_count=8, user_message_count=4,
            )
        )  # fmt: skip
        for position, (thread_id, fields) in enumerate(verified.items()):
            conn.execute(
                insert(semantic_threads).values(
                    project_id="p", id=thread_id, conversation_id="c", position=position,
                    first_position=2 * position, last_position=2 * position + 1,
                    organization_id="o", question="q", question_length=1, answer="a",
                    message_ids=[], messages_count=2, conversation_ids=["c"],
                    first_message_time=now, last_message_time=now, last_updated=now,
                    is_initial_question_answer=position == 0, verified_fields=fields,
                )
            )  # fmt: skip

    def stored() -> dict[str, list[str] | None]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(semantic_threads.c.id, semantic_threads.c.verified_fields)
            ).all()
        return {thread_id: fields for thread_id, fields in rows}

    migrate.upgrade(engine)
    assert stored() == {
        "t-two": ["category", "is_documented"],
        "t-all": ["first_party_entities", "gap_summary", "is_on_topic", "question_type"],
        "t-empty": [],
        "t-none": None,
    }
    migrate.downgrade(engine, "0013")
    assert stored() == verified
    migrate.upgrade(engine)
