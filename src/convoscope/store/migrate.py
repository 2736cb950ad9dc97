"""Running the Alembic migrations against an engine.

What the schema holds beyond the tables (the JSON path indexes, ``convoscope.indexing``)
is handed in as ``extras``: set aside before migrations, which may rebuild a table, and
built again after. The store knows the hook, not what hangs on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"

RECOVERY_HINT = """\
The database migration failed; the database was left at the last migration that
completed (each migration runs in its own transaction). To recover:
  1. Read the error above; it names the statement that failed.
  2. Back up the database (the SQLite file, or pg_dump for PostgreSQL).
  3. Run `convoscope db current` to see where it stopped, fix the cause, then
     run `convoscope db upgrade` again.
The runbook is src/convoscope/store/migrations/README.md."""


class SchemaExtras(Protocol):
    def set_aside(self, conn: Connection, *, dialects: Sequence[str]) -> None: ...

    def reconcile(self, conn: Connection) -> object: ...


class _NoExtras:
    def set_aside(self, conn: Connection, *, dialects: Sequence[str]) -> None:
        return None

    def reconcile(self, conn: Connection) -> object:
        return None


NO_EXTRAS: SchemaExtras = _NoExtras()


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head", *, extras: SchemaExtras = NO_EXTRAS) -> None:
    """Migrate to ``revision``, one transaction per migration (env.py says so to Alembic).

    No transaction surrounds them: an outer one made Alembic's per-migration
    transactions inert, and a failure in the last migration undid every one before it.
    """
    target = head_revision() if revision == "head" else revision
    with engine.connect() as conn:
        pending = MigrationContext.configure(conn).get_current_revision() != target
        conn.rollback()
        _migrate(
            engine,
            conn,
            pending=pending,
            dialects=("sqlite",),
            run=command.upgrade,
            to=revision,
            extras=extras,
        )


def downgrade(engine: Engine, revision: str, *, extras: SchemaExtras = NO_EXTRAS) -> None:
    with engine.connect() as conn:
        _migrate(
            engine,
            conn,
            pending=True,
            dialects=("sqlite", "postgresql"),
            run=command.downgrade,
            to=revision,
            extras=extras,
        )


def _migrate(
    engine: Engine,
    conn: Connection,
    *,
    pending: bool,
    dialects: tuple[str, ...],
    run: Callable[[Config, str], None],
    to: str,
    extras: SchemaExtras,
) -> None:
    config = _config(engine)
    config.attributes["connection"] = conn
    if pending:
        with conn.begin():
            extras.set_aside(conn, dialects=dialects)
    try:
        run(config, to)
    finally:
        # Also after a failed migration: its transaction rolled back, and the indexes set
        # aside belong on the schema that the last completed migration left.
        if conn.in_transaction():
            conn.rollback()
        with conn.begin():
            extras.reconcile(conn)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config_without_engine()).get_current_head()


def _config_without_engine() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
