"""``convoscope projects`` and ``convoscope keys``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from convoscope.auth import KeyType, display_prefix, generate_key, hash_key
from convoscope.cli.context import migrated_engine, out
from convoscope.schemas import format_timestamp
from convoscope.store import keys as store

projects_app = typer.Typer(help="Projects: each holds its own conversations.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


@projects_app.command("create")
def create_project(name: Annotated[str, typer.Argument(help="A unique project name.")]) -> None:
    """Create a project."""
    with migrated_engine() as engine, engine.begin() as conn:
        project = store.create_project(conn, name)
    out.print(f"created project {project.name} ({project.id})")


@projects_app.command("list")
def list_projects() -> None:
    """List the projects."""
    with migrated_engine() as engine, engine.connect() as conn:
        projects = store.list_projects(conn)
    table = Table("name", "id")
    for project in projects:
        table.add_row(project.name, project.id)
    out.print(table)


@keys_app.command("create")
def create_key(
    project: Annotated[str, typer.Option(help="Project name or id.")],
    key_type: Annotated[
        KeyType, typer.Option("--type", help="api reads and writes; the others only write.")
    ] = KeyType.API,
    name: Annotated[str | None, typer.Option(help="Name of the key's integration.")] = None,
) -> None:
    """Create a key. The key is printed once, alone, on the last line."""
    key = generate_key()
    with migrated_engine() as engine, engine.begin() as conn:
        found = store.get_project(conn, project)
        record = store.create_key(
            conn, found, key_type.value, hash_key(key), display_prefix(key), name
        )
    out.print(
        f"created {record.key_type} key {record.id} for project {found.name} "
        f"(integration {record.integration_id}); it is shown only now:"
    )
    out.print(key, markup=False)


@keys_app.command("list")
def list_keys(
    project: Annotated[str | None, typer.Option(help="Only this project's keys.")] = None,
) -> None:
    """List keys (never the keys themselves: only their first characters)."""
    with migrated_engine() as engine, engine.connect() as conn:
        found = store.get_project(conn, project) if project else None
        records = store.list_keys(conn, found)
    table = Table("id", "prefix", "type", "project", "created", "status")
    for r in records:
        status = "revoked " + format_timestamp(r.revoked_at) if r.revoked_at else "active"
        table.add_row(
            r.id,
            r.key_prefix + "…",
            r.key_type,
            r.project_name,
            format_timestamp(r.created_at),
            status,
        )
    out.print(table)


@keys_app.command("revoke")
def revoke_key(
    key: Annotated[str, typer.Argument(help="The key's id, or its prefix as listed.")],
) -> None:
    """Revoke a key. Requests with it fail within CONVOSCOPE_KEY_CACHE_SECONDS."""
    with migrated_engine() as engine, engine.begin() as conn:
        record = store.revoke_key(conn, key.rstrip("…"))
    out.print(f"revoked key {record.id} ({record.key_prefix}…)")
