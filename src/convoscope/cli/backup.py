"""``convoscope backup`` and ``convoscope restore``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from convoscope.cli.context import fail, out, settings_or_exit
from convoscope.indexing import current_revision, upgrade
from convoscope.store import make_engine
from convoscope.store.backup import BackupError, backup_sqlite, restore_sqlite, sqlite_path


def backup(
    out_path: Annotated[Path, typer.Argument(metavar="OUT", help="The backup file to write.")],
) -> None:
    """Copy the SQLite database, consistent even while the server writes."""
    settings = settings_or_exit()
    try:
        info = backup_sqlite(settings.database_url, out_path)
    except BackupError as problem:
        raise fail(str(problem)) from None
    out.print(
        f"backed up {info.conversations} conversations at revision {info.revision} to "
        f"{info.path} ({info.size_bytes:,} bytes)"
    )


def restore(
    backup_path: Annotated[
        Path, typer.Argument(metavar="BACKUP", help="A file made by convoscope backup.")
    ],
    yes: Annotated[
        bool, typer.Option("--yes", help="Replace a database that already holds data.")
    ] = False,
) -> None:
    """Check a backup (integrity, migration revision) and restore it; stop the server first."""
    settings = settings_or_exit()
    try:
        target = sqlite_path(settings.database_url)
        if target.exists() and target.stat().st_size > 0 and not yes:
            raise fail(
                f"{target} already holds a database; stop the server and pass --yes to "
                "replace it with the backup"
            )
        info = restore_sqlite(backup_path, settings.database_url)
    except BackupError as problem:
        raise fail(str(problem)) from None
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        upgrade(engine)  # a backup made by an older version is migrated forward
        revision = current_revision(engine)
    finally:
        engine.dispose()
    out.print(
        f"restored {info.conversations} conversations from {backup_path} "
        f"(revision {info.revision}, now {revision})"
    )
