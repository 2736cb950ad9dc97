"""Running the Alembic migrations against an engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from convoscope.store import path_indexes

MIGRATIONS = Path(__file__).parent / "migrations"

RECOVERY_HINT = """\
The database migration failed; the database was left at the last migration that
completed (each migration runs in its own transaction). To recover:
  1. Read the error above; it names the statement that failed.
  2. Back up the database (the SQLite file, or pg_dump for PostgreSQL).
  3. Run `convoscope db current` to see where it stopped, fix the cause, then
     run `convoscope db upgrade` again.
The runbook is src/convoscope/store/migrations/README.md."""


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = _config(engine)
    target = head_revision() if revision == "head" else revision
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        if MigrationContext.configure(conn).get_current_revision() != target:
            path_indexes.set_aside(conn, dialects=("sqlite",))
        command.upgrade(config, revision)
        path_indexes.reconcile(conn)


def downgrade(engine: Engine, revision: str) -> None:
    config = _config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        path_indexes.set_aside(conn, dialects=("sqlite", "postgresql"))
        command.downgrade(config, revision)
        path_indexes.reconcile(conn)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config_without_engine()).get_current_head()


def _config_without_engine() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
