"""The ``convoscope`` command."""

from __future__ import annotations

import typer

from convoscope.cli import (
    annotate,
    backup,
    db,
    erasure,
    indexes,
    keys,
    mcp,
    privacy,
    redact,
    serve,
    transfer,
    users,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="convoscope",
    help="Self-hosted analytics for AI-assistant conversations.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("serve")(serve.serve)
app.command("mcp")(mcp.mcp)
db.app.command("vacuum")(erasure.vacuum)
app.add_typer(db.app, name="db")
app.command("forget")(erasure.forget)
app.command("erasures")(erasure.erasures)
app.command("redact")(redact.redact)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.command("export")(transfer.export)
app.command("import")(transfer.import_)
app.add_typer(erasure.retention_app, name="retention")
keys.projects_app.command("set")(privacy.set_project)
keys.projects_app.command("show")(privacy.show_project)
app.add_typer(keys.projects_app, name="projects")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(users.users_app, name="users")
app.add_typer(indexes.app, name="indexes")
app.command("annotate")(annotate.annotate)
app.add_typer(annotate.threads_app, name="threads")
app.add_typer(annotate.glossary_app, name="glossary")


def main() -> None:
    app()
