"""``convoscope export`` and ``convoscope import``: a project's conversations as JSONL."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from convoscope.cli.context import err, fail, migrated_engine, out, settings_or_exit
from convoscope.errors import ConvoscopeError
from convoscope.store import Scope, make_engine
from convoscope.store import keys as key_store
from convoscope.transfer import (
    BadLine,
    ImportReport,
    LineReader,
    atomic_output,
    export_project,
    import_lines,
)


class _Rows(ProgressColumn):
    """Rows done and rows a second: the task's ``rows`` field over its elapsed time."""

    def render(self, task: Task) -> Text:
        rows = int(task.fields.get("rows", 0))
        elapsed = task.finished_time if task.finished else task.elapsed
        rate = rows / elapsed if elapsed else 0.0
        return Text(f"{rows:,} {task.fields.get('unit', 'rows')}  {rate:,.0f}/s", style="cyan")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        _Rows(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
    )


@contextmanager
def _quiet_garbage_collector() -> Iterator[None]:
    """Keep the cyclic collector off the long-lived heap while the command runs, as the
    server does (app.py), and put it back after (the command may run in a test).

    A batch allocates hundreds of thousands of short-lived containers, and each full
    collection walked every object SQLAlchemy and pydantic made at import: an import of
    20,000 conversations spent 253 µs of CPU a conversation with the collector on, 207
    without it.
    """
    threshold = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, threshold[1], threshold[2])
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def _scope(project: str) -> Scope:
    with migrated_engine() as engine, engine.connect() as conn:
        found = key_store.get_project(conn, project)
    # Imported data keeps the integrations it names; what names none gets none.
    return Scope(found.organization_id, found.id, None)


def export(
    project: Annotated[str, typer.Option(help="Project name or id.")],
    out_file: Annotated[
        Path, typer.Option("--out", help="FILE.jsonl, or FILE.jsonl.gz to gzip it.")
    ],
) -> None:
    """Write every conversation of a project, with its messages, feedback, events and
    thread annotations, one JSON line each (read back by `convoscope import`)."""
    scope = _scope(project)
    # A plain read transaction: it must not take the write lock from a running server.
    engine = make_engine(settings_or_exit().database_url, pool_size=1)
    try:
        with _quiet_garbage_collector(), _progress() as bar, atomic_output(out_file) as stream:
            task = bar.add_task("exporting", total=None, rows=0, unit="conversations")
            report = export_project(
                engine,
                scope,
                stream,
                on_total=lambda total: bar.update(task, total=total),
                on_page=lambda r: bar.update(task, completed=r.conversations, rows=r.conversations),
            )
    except ConvoscopeError as problem:
        raise fail(problem.detail) from None
    finally:
        engine.dispose()
    out.print(
        f"exported {report.conversations:,} conversations ({report.messages:,} messages), "
        f"{report.feedback:,} feedback, {report.events:,} events, "
        f"{report.threads:,} annotated threads to {out_file}"
    )


def import_(
    file: Annotated[
        Path, typer.Argument(help="JSONL, gzipped or not.", exists=True, dir_okay=False)
    ],
    project: Annotated[str, typer.Option(help="Project name or id.")],
    strict: Annotated[
        bool, typer.Option("--strict", help="Stop at the first bad line instead of skipping it.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="Conversations per transaction.")
    ] = 2000,
) -> None:
    """Import conversations: `convoscope export` files, POST /conversations bodies, or
    OpenAI chat lines ({"messages": [...]}). Importing a file again changes nothing."""
    scope = _scope(project)
    with (
        _quiet_garbage_collector(),
        migrated_engine() as engine,
        LineReader(file) as lines,
        _progress() as bar,
    ):
        task = bar.add_task("importing", total=lines.size, rows=0, unit="lines")

        def report_bad(bad: BadLine) -> None:
            bar.console.print(f"[yellow]skipped[/] {bad}" if not strict else f"[red]{bad}[/]")

        def advance(report: ImportReport) -> None:
            bar.update(task, completed=lines.position, rows=report.lines)

        report = import_lines(
            engine,
            scope,
            lines,
            strict=strict,
            batch_size=batch_size,
            on_bad=report_bad,
            on_batch=advance,
        )
    out.print(
        f"{report.lines:,} lines: {report.conversations:,} conversations written, "
        f"{report.unchanged:,} unchanged, {report.feedback:,} feedback, {report.events:,} "
        f"events, {report.threads:,} thread annotations; {report.bad:,} bad lines skipped"
    )
    if report.stopped_at is not None:
        raise fail(f"stopped at {report.stopped_at} (--strict); the lines before it are imported")
