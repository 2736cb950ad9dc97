"""``convoscope redact``: apply a project's redaction to what it already stores."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from convoscope.cli.context import err, fail, migrated_engine, out, settings_or_exit
from convoscope.privacy import redact_stored, totals
from convoscope.redaction.presidio import use_configured_model
from convoscope.store import keys as key_store


def redact(
    project: Annotated[str, typer.Option(help="Project name or id.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be redacted; change nothing.")
    ] = False,
    apply: Annotated[
        bool, typer.Option("--apply", help="Redact the stored data, and derive threads again.")
    ] = False,
) -> None:
    """Redact stored data with the project's current settings (convoscope projects set)."""
    if dry_run == apply:
        raise fail("pass exactly one of --dry-run and --apply")
    model = settings_or_exit().pii_model
    if model:  # names and locations, as the server finds them
        use_configured_model(model)
    with migrated_engine() as engine:
        with engine.connect() as conn:
            found = key_store.get_project(conn, project)
        total = sum(totals(engine, found.id).values())
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        ) as bar:
            task = bar.add_task("redacting" if apply else "scanning", total=total)
            run = redact_stored(
                engine,
                found.id,
                apply=apply,
                progress=lambda table, rows: bar.update(
                    task, advance=rows, description=f"{table:<13}"
                ),
            )
    changed = Table("table", "rows", "would change" if dry_run else "changed")
    for table, rows in run.rows.items():
        changed.add_row(table, str(rows), str(run.changed[table]))
    out.print(changed)
    kinds = Table("kind", "placeholders")
    for kind, n in sorted(run.kinds.items()):
        kinds.add_row(kind, str(n))
    out.print(kinds)
    if apply:
        out.print(f"redacted; semantic threads derived again for {run.rederived} conversations")
    else:
        out.print("dry run: nothing changed")
