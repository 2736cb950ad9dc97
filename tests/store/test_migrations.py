"""The migrations build exactly tables.py, and go down to nothing and back up, on both
engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from convoscope.store import migrate
from convoscope.store.tables import metadata


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
