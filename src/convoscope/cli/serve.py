"""``convoscope serve``: migrate, make sure there is a key to use, and serve."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
import uvicorn
from sqlalchemy import Engine

from convoscope.auth import KeyType, display_prefix, generate_key, hash_key, issue_link
from convoscope.cli.context import err, fail, out, settings_or_exit
from convoscope.indexing import RECOVERY_HINT, upgrade
from convoscope.store import keys as store
from convoscope.store import make_engine
from convoscope.store import users as user_store

# The first start's dashboard user; `convoscope users create` adds real people.
FIRST_ADMIN = "admin@localhost"


def serve(
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Server processes (PostgreSQL only: SQLite has a single writer).",
    ),
) -> None:
    """Start the server (CONVOSCOPE_HOST, CONVOSCOPE_PORT, CONVOSCOPE_DATABASE_URL)."""
    settings = settings_or_exit()
    if workers > 1 and settings.is_sqlite:
        raise fail(
            "--workers above 1 needs PostgreSQL: SQLite takes one writer at a time, so a "
            "second process would only wait for the first's lock. Run one process, or set "
            "CONVOSCOPE_DATABASE_URL=postgresql+psycopg://…"
        )
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        upgrade(engine)
    except Exception as problem:
        err.print(RECOVERY_HINT)
        raise fail(f"migration failed: {problem}") from problem
    first = _first_start(engine, settings.base_url)
    engine.dispose()

    address = f"http://{settings.host}:{settings.port}"
    out.print(f"convoscope on {address}  (database: {_describe(settings.database_url)})")
    out.print(f"  API: {address}/conversations   docs: {address}/docs")
    if first:
        key, link = first
        out.print("First start: created project 'default' and this api key (shown only now):")
        out.print(key, markup=False)
        out.print(f"and dashboard admin {FIRST_ADMIN}; sign in within 15 minutes at:")
        out.print(link, markup=False)
    if workers > 1:
        out.print(f"  {workers} server processes; background jobs run in one at a time")
    # A factory, so each process builds its own app (and reads the same settings).
    uvicorn.run(
        "convoscope.app:create_served_app",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )


def _first_start(engine: Engine, base_url: str) -> tuple[str, str] | None:
    """On an empty database, a 'default' project with one api key and one dashboard
    admin: the key, and a sign-in link for the admin."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        if store.count_projects(conn):
            return None
        project = store.create_project(conn, "default")
        key = generate_key()
        store.create_key(conn, project, KeyType.API.value, hash_key(key), display_prefix(key))
        admin = user_store.create_user(conn, FIRST_ADMIN, now=now)
        user_store.set_membership(conn, project.id, admin.id, "admin", now=now)
        return key, issue_link(conn, admin, base_url, now=now)


def _describe(url: str) -> str:
    return url if url.startswith("sqlite") else url.split("@")[-1]
