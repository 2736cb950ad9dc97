"""``convoscope db``: migrations by hand."""

from __future__ import annotations

import typer

from convoscope.cli.context import err, fail, migrated_engine, out, settings_or_exit
from convoscope.indexing import migrate
from convoscope.store import distribution, make_engine

app = typer.Typer(help="Database schema: migrations and distribution.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    engine = make_engine(settings_or_exit().database_url, pool_size=1, lock_at_begin=True)
    try:
        migrate.upgrade(engine, revision)
        out.print(f"database at revision {migrate.current_revision(engine)}")
    except Exception as problem:
        err.print(migrate.RECOVERY_HINT)
        raise fail(str(problem)) from problem
    finally:
        engine.dispose()


@app.command("downgrade")
def downgrade(revision: str = typer.Argument(..., help="Target revision, or 'base'.")) -> None:
    """Migrate the database back to REVISION."""
    engine = make_engine(settings_or_exit().database_url, pool_size=1, lock_at_begin=True)
    try:
        migrate.downgrade(engine, revision)
        out.print(f"database at revision {migrate.current_revision(engine) or 'base'}")
    finally:
        engine.dispose()


@app.command("current")
def current() -> None:
    """Show the revision the database is at, and the newest one."""
    engine = make_engine(settings_or_exit().database_url, pool_size=1)
    try:
        out.print(f"current: {migrate.current_revision(engine) or 'base (empty)'}")
        out.print(f"newest:  {migrate.head_revision()}")
    finally:
        engine.dispose()


@app.command("distribute")
def distribute_tables() -> None:
    """Distribute the tables over a Citus cluster on project_id (see docs/citus.md)."""
    with migrated_engine() as engine, engine.begin() as conn:
        made = distribution.distribute(conn)
    for step in made:
        out.print(step)
    out.print("every table is distributed" if made else "nothing to do: already distributed")
