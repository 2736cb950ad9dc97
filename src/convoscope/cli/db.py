"""``convoscope db``: migrations by hand."""

from __future__ import annotations

import typer

from convoscope.cli.context import err, fail, out, settings_or_exit
from convoscope.store import migrate
from convoscope.store.engine import make_engine

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    engine = make_engine(settings_or_exit().database_url, pool_size=1)
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
    engine = make_engine(settings_or_exit().database_url, pool_size=1)
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
