"""``convoscope indexes``: indexes on JSON paths that reports group or select by."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select, table

from convoscope.cli.context import err, fail, migrated_engine, out
from convoscope.indexing import PathIndex, PathIndexError, path_indexes
from convoscope.schemas import format_timestamp

app = typer.Typer(
    help="Indexes on JSON paths, e.g. conversations userProperties company: reports that "
    "group or select by the path read the index instead of every row's JSON.",
    no_args_is_help=True,
)

Resource = Annotated[str, typer.Argument(help="conversations, events or feedback.")]
Field = Annotated[str, typer.Argument(help="properties or userProperties.")]
Path = Annotated[list[str], typer.Argument(help="The keys down to the value, e.g. company.")]


def _define(resource: str, field: str, path: list[str]) -> PathIndex:
    try:
        return path_indexes.define(resource, field, path)
    except PathIndexError as problem:
        raise fail(str(problem)) from None


@app.command("create")
def create(resource: Resource, field: Field, path: Path) -> None:
    """Index a JSON path. Writes to the resource then cost one more index entry each."""
    index = _define(resource, field, path)
    with migrated_engine() as engine:
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(table(index.table))).scalar_one()
        started = time.perf_counter()
        dialect = engine.dialect.name
        waits = ", writes wait meanwhile" if dialect == "sqlite" else ""
        with err.status(f"indexing {index.label} over {rows:,} rows{waits}"):
            try:
                created = path_indexes.create(engine, index)
            except PathIndexError as problem:
                raise fail(str(problem)) from None
    if not created:
        out.print(f"{index.label} is already indexed")
        return
    took = f"{time.perf_counter() - started:.1f} s"
    if dialect == "sqlite":
        out.print(f"indexed {index.label} in {took}")
    else:
        out.print(f"indexed {index.label} in {took}: PostgreSQL keeps statistics of its values")


@app.command("list")
def list_indexes() -> None:
    """List the indexed JSON paths."""
    with migrated_engine() as engine:
        indexes = path_indexes.list_indexes(engine)
    listing = Table("resource", "field", "path", "made by", "created")
    for index in indexes:
        created = format_timestamp(index.created_at) if index.created_at else ""
        path = ".".join(index.path)
        listing.add_row(index.resource, index.field, path, index.created_by, created)
    out.print(listing)


@app.command("drop")
def drop(resource: Resource, field: Field, path: Path) -> None:
    """Remove the index of a JSON path; the server will not make it again."""
    index = _define(resource, field, path)
    with migrated_engine() as engine:
        dropped = path_indexes.drop(engine, index)
    if not dropped:
        raise fail(f"{index.label} is not indexed; `convoscope indexes list` shows what is")
    out.print(f"dropped the index of {index.label}")
