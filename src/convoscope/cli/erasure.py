"""``convoscope forget``, ``convoscope retention run`` and ``convoscope db vacuum``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from convoscope.cli.context import migrated_engine, out
from convoscope.privacy import forget_now, run_retention_now
from convoscope.schemas import format_timestamp
from convoscope.store import Dialect, dialect_of
from convoscope.store import keys as key_store
from convoscope.store.erasure import Erased, free_space, list_erasures, sqlite_vacuum_mode

retention_app = typer.Typer(
    help="Deleting conversations past their retention.", no_args_is_help=True
)


def _counts(erased: Erased) -> str:
    return (
        f"{erased.conversations} conversations, {erased.messages} messages, "
        f"{erased.feedback} feedback, {erased.events} events, {erased.threads} semantic threads"
    )


def forget(
    project: Annotated[str, typer.Option(help="Project name or id.")],
    user_id: Annotated[
        str, typer.Option(help="The user's userProperties.id / userId (or a project identifier).")
    ],
    dry_run: Annotated[bool, typer.Option(help="Count what would go; delete nothing.")] = False,
) -> None:
    """Delete every conversation, feedback and event of one user, and free the disk."""
    with migrated_engine() as engine:
        with engine.connect() as conn:
            found = key_store.get_project(conn, project)
        result = forget_now(engine, found.id, user_id, requested_by="cli", dry_run=dry_run)
    if dry_run:
        out.print(f"would delete {_counts(result.erased)}")
    else:
        out.print(f"deleted {_counts(result.erased)} (erasure {result.erasure_id})")


@retention_app.command("run")
def run_retention(
    project: Annotated[
        str | None, typer.Option(help="Project name or id; every project if left out.")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Count what would go; delete nothing.")] = False,
) -> None:
    """Delete conversations older than their project's retention_days, now."""
    with migrated_engine() as engine:
        project_id = None
        names: dict[str, str] = {}
        with engine.connect() as conn:
            if project is not None:
                found = key_store.get_project(conn, project)
                project_id = found.id
            names = {p.id: p.name for p in key_store.list_projects(conn)}
        run = run_retention_now(engine, project_id=project_id, dry_run=dry_run)
    if not run.by_project:
        out.print("no project has a retention period" if project is None else "keeps forever")
        return
    table = Table("project", "conversations", "messages", "feedback", "events", "threads")
    for pid, erased in run.by_project.items():
        table.add_row(
            names.get(pid, pid),
            *(
                str(n)
                for n in (
                    erased.conversations,
                    erased.messages,
                    erased.feedback,
                    erased.events,
                    erased.threads,
                )
            ),
        )
    out.print(("would delete" if dry_run else "deleted") + ":")
    out.print(table)


def vacuum() -> None:
    """Rewrite the database to give freed space back (and, on SQLite, switch an older file
    to incremental vacuum, so later deletions free space by themselves)."""
    with migrated_engine() as engine:
        if dialect_of(engine) == Dialect.POSTGRESQL:
            free_space(engine)
            out.print("vacuumed the data tables")
            return
        before = sqlite_vacuum_mode(engine)
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            # Takes effect through the VACUUM: later deletions free space by themselves.
            cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            raw.close()
        out.print(f"vacuumed; auto_vacuum {before} -> {sqlite_vacuum_mode(engine)}")


def erasures(
    project: Annotated[str, typer.Option(help="Project name or id.")],
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most recent first.")] = 50,
) -> None:
    """The erasure log: when data was forgotten or expired, why, by whom and how much."""
    with migrated_engine() as engine, engine.connect() as conn:
        found = key_store.get_project(conn, project)
        rows = list_erasures(conn, found.id, limit=limit)
    table = Table(
        "started", "reason", "requested by", "conversations", "messages", "feedback", "events"
    )
    for row in rows:
        table.add_row(
            format_timestamp(row["started_at"]),
            row["reason"],
            row["requested_by"],
            *(str(row[k]) for k in ("conversations", "messages", "feedback", "events")),
        )
    out.print(table)
