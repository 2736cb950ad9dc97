"""``convoscope annotate``, ``convoscope threads verify`` and ``convoscope glossary``."""

from __future__ import annotations

import asyncio
import enum
import json
import os
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy import Engine

from convoscope.annotation_names import WIRE_TO_COLUMN
from convoscope.api import verification_in, verified_thread_to_wire
from convoscope.cli.context import fail, migrated_engine, out
from convoscope.errors import QueryError
from convoscope.query import parse_time_value
from convoscope.schemas import ThreadVerification
from convoscope.store import annotations as store
from convoscope.store import keys as key_store
from convoscope.validation import problems_of, summary

if TYPE_CHECKING:
    from convoscope.annotate import Analyzer

threads_app = typer.Typer(help="Semantic threads.", no_args_is_help=True)
glossary_app = typer.Typer(help="A project's first-party terms.", no_args_is_help=True)


class AnalyzerChoice(enum.StrEnum):
    OFFLINE = "offline"
    LLM = "llm"


def annotate(
    project: Annotated[str | None, typer.Option(help="Project name or id.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Re-annotate threads from this ISO date-time on.")
    ] = None,
    analyzer: Annotated[AnalyzerChoice, typer.Option(help="Which analyzer.")] = (
        AnalyzerChoice.OFFLINE
    ),
    status: Annotated[bool, typer.Option("--status", help="Show counts and exit.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 64,
) -> None:
    """Annotate a project's semantic threads now, with a progress bar."""
    if status:
        _show_status(project)
        return
    if project is None:
        raise fail("--project is required (or --status)")
    since_time = _parse_since(since)
    with migrated_engine() as engine:
        with engine.begin() as conn:
            found = key_store.get_project(conn, project)
            requeued = store.requeue(conn, found.id, since=since_time, everything=bool(since))
            pending = store.status_counts(conn, found.id).get(found.id, {}).get("pending", 0)
        if since_time is not None:
            out.print(f"queued {requeued} threads since {since} again")
        if pending == 0:
            out.print(f"nothing to annotate in {found.name}")
            return
        asyncio.run(_run(engine, found.id, pending, analyzer, batch_size))


async def _run(
    engine: Engine, project_id: str, pending: int, choice: AnalyzerChoice, batch_size: int
) -> None:
    # Here, not at the top: the analyzers (numpy, the models) and the worker take
    # seconds to import, and every other command (``convoscope mcp``, which clients
    # start at each launch, ``convoscope import``) would wait for them.
    from convoscope.annotate import (
        AnnotationWorker,
        InProcessRunner,
        LLMAnalyzer,
        OfflineAnalyzer,
        WorkerSettings,
    )
    from convoscope.annotate.analyzers.llm import LLMSettings
    from convoscope.store import Database

    chosen: Analyzer = OfflineAnalyzer()
    if choice is AnalyzerChoice.LLM:
        settings = LLMSettings.from_env(os.environ)
        if settings is None:
            raise fail("--analyzer llm needs CONVOSCOPE_LLM_BASE_URL and CONVOSCOPE_LLM_MODEL")
        chosen = LLMAnalyzer(chosen, settings)
    db = Database(engine)
    db.start()
    worker = AnnotationWorker(db, InProcessRunner(chosen), WorkerSettings(batch_size=batch_size))
    columns = (
        TextColumn("annotating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:.1f} threads/s"),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=out) as progress:
            task = progress.add_task("annotate", total=pending, rate=0.0)
            started = asyncio.get_running_loop().time()
            done = 0
            while (count := await worker.run_once(project_id)) > 0:
                done += count
                elapsed = asyncio.get_running_loop().time() - started
                progress.update(task, completed=min(done, pending), rate=done / elapsed)
    finally:
        db.writer.stop()
    out.print(f"annotated {done} threads")


def _parse_since(since: str | None) -> datetime | None:
    if since is None:
        return None
    try:
        return parse_time_value(since, "--since")
    except QueryError as err:
        raise fail(f"{err.detail}; e.g. 2025-03-01 or 2025-03-01T00:00:00Z") from None


def _show_status(project: str | None) -> None:
    with migrated_engine() as engine, engine.connect() as conn:
        found = key_store.get_project(conn, project) if project else None
        counts = store.status_counts(conn, found.id if found else None)
        names = {p.id: p.name for p in key_store.list_projects(conn)}
    table = Table("project", "pending", "claimed", "done", "failed")
    for project_id, by_status in sorted(counts.items()):
        table.add_row(
            names.get(project_id, project_id),
            *(str(by_status.get(s, 0)) for s in ("pending", "claimed", "done", "failed")),
        )
    out.print(table)


@threads_app.command("verify")
def verify(
    thread_id: Annotated[str, typer.Argument(help="The semantic thread's id.")],
    project: Annotated[str, typer.Option(help="Project name or id.")],
    field: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="FIELD=VALUE with a wire name, e.g. category=billing or isDocumented=false; "
            "VALUE is JSON when it parses as JSON.",
        ),
    ],
) -> None:
    """Correct annotation fields by hand; they are never overwritten again."""
    # The API's own model: types, lengths and the sentiment values are checked alike.
    assigned = dict(_parse_assignment(item) for item in field)
    try:
        checked = ThreadVerification.model_validate(assigned)
    except ValidationError as err:
        raise fail(f"--set {summary(problems_of(err.errors(), assigned))}") from None
    values = verification_in(checked)
    with migrated_engine() as engine, engine.begin() as conn:
        found = key_store.get_project(conn, project)
        result = store.verify_fields(conn, found.id, thread_id, values)
    out.print_json(json.dumps(verified_thread_to_wire(result), default=str))


def _parse_assignment(item: str) -> tuple[str, Any]:
    name, sep, raw = item.partition("=")
    if not sep or name not in WIRE_TO_COLUMN:
        raise fail(f"--set takes FIELD=VALUE with FIELD one of {', '.join(WIRE_TO_COLUMN)}")
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw


@glossary_app.command("set")
def set_glossary(
    project: Annotated[str, typer.Option(help="Project name or id.")],
    terms: Annotated[list[str], typer.Argument(help="Product, feature and API names.")],
) -> None:
    """Set the first-party terms the annotator looks for in questions."""
    with migrated_engine() as engine, engine.begin() as conn:
        found = key_store.get_project(conn, project)
        stored = store.load_context(conn, found.id)
        store.save_context(
            conn,
            found.id,
            store.StoredContext(
                sorted(set(terms), key=str.casefold),
                stored.learned_glossary,
                stored.category_model,
                stored.fitted_threads,
            ),
        )
    out.print(f"{found.name}: {len(set(terms))} glossary terms")


@glossary_app.command("show")
def show_glossary(project: Annotated[str, typer.Option(help="Project name or id.")]) -> None:
    """Show the configured and the learned first-party terms."""
    with migrated_engine() as engine, engine.connect() as conn:
        found = key_store.get_project(conn, project)
        stored = store.load_context(conn, found.id)
    out.print("configured: " + (", ".join(stored.glossary) or "(none)"))
    out.print("learned:    " + (", ".join(stored.learned_glossary) or "(none)"))
