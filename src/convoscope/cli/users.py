"""``convoscope users``: the people who sign in to the dashboard."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from convoscope.auth import hash_password, issue_link
from convoscope.cli.context import fail, migrated_engine, out, settings_or_exit
from convoscope.store import keys as key_store
from convoscope.store import users as store

users_app = typer.Typer(help="Dashboard users and their projects.", no_args_is_help=True)

MIN_PASSWORD = 8


@users_app.command("create")
def create_user(
    email: Annotated[str, typer.Argument(help="The person's email address.")],
    project: Annotated[
        list[str], typer.Option(help="A project name or id; repeat for several projects.")
    ],
    role: Annotated[str, typer.Option(help="admin (settings, keys, users) or viewer.")] = "viewer",
) -> None:
    """Create a user who may sign in to the given projects."""
    if role not in store.ROLES:
        raise fail(f"--role must be admin or viewer; got {role!r}")
    now = datetime.now(UTC)
    with migrated_engine() as engine, engine.begin() as conn:
        found = [key_store.get_project(conn, name) for name in project]
        user = store.find_user(conn, email) or store.create_user(conn, email, now=now)
        for p in found:
            store.set_membership(conn, p.id, user.id, role, now=now)
    names = ", ".join(p.name for p in found)
    out.print(f"{user.email} is {role} of {names}; sign in with: convoscope users link {email}")


@users_app.command("list")
def list_users() -> None:
    """List the users and their projects."""
    with migrated_engine() as engine, engine.connect() as conn:
        rows = store.list_users(conn)
    table = Table("email", "projects", "password")
    for user, members in rows:
        projects = ", ".join(f"{m.project_name} ({m.role})" for m in members) or "(none)"
        table.add_row(user.email, projects, "set" if user.has_password else "-")
    out.print(table)


@users_app.command("remove")
def remove_user(email: Annotated[str, typer.Argument(help="The user's email.")]) -> None:
    """Remove a user; their sessions end at once."""
    with migrated_engine() as engine, engine.begin() as conn:
        user = store.get_user(conn, email)
        store.remove_user(conn, user.id)
    out.print(f"removed {user.email}")


@users_app.command("link")
def link(email: Annotated[str, typer.Argument(help="The user's email.")]) -> None:
    """Print a one-time sign-in URL (valid 15 minutes) on the last line."""
    settings = settings_or_exit()
    with migrated_engine() as engine, engine.begin() as conn:
        user = store.get_user(conn, email)
        url = issue_link(conn, user, settings.base_url, now=datetime.now(UTC))
    out.print(f"sign-in link for {user.email}, valid 15 minutes, once:")
    out.print(url, markup=False)


@users_app.command("password")
def password(email: Annotated[str, typer.Argument(help="The user's email.")]) -> None:
    """Set a user's password, read from a prompt (or from stdin when it is not a terminal)."""
    if sys.stdin.isatty():
        secret = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    if len(secret) < MIN_PASSWORD:
        raise fail(f"a password needs at least {MIN_PASSWORD} characters")
    hashed = hash_password(secret)
    with migrated_engine() as engine, engine.begin() as conn:
        user = store.get_user(conn, email)
        store.set_password_hash(conn, user.id, hashed)
    out.print(f"password set for {user.email}")
