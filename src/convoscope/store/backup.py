"""Backups of a SQLite database, taken while the server writes, and their restore.

A backup is SQLite's online backup API copying every page in one step: the copy is the
database as of one moment (a read transaction, which in WAL mode never blocks the
writer), in a single self-contained file (rollback journal, no WAL). A step-by-step copy
would restart each time the server commits, and might never finish under load.

PostgreSQL databases are backed up with PostgreSQL's own tools (``pg_dump``); see
``POSTGRESQL_HINT``.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from convoscope.store.migrate import MIGRATIONS

POSTGRESQL_HINT = """\
convoscope backup copies SQLite databases. For PostgreSQL use its own tools, e.g.
  pg_dump --format=custom --file=convoscope.dump "$DATABASE"      (a consistent snapshot)
  pg_restore --clean --if-exists --dbname="$DATABASE" convoscope.dump
with DATABASE the postgresql:// form of CONVOSCOPE_DATABASE_URL (without +psycopg), or a
base backup with WAL archiving (pg_basebackup) for point-in-time recovery."""


class BackupError(Exception):
    """A backup could not be made, or a file is not one that can be restored."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    revision: str
    size_bytes: int
    conversations: int


def sqlite_path(database_url: str) -> Path:
    if not database_url.startswith("sqlite:///"):
        raise BackupError(POSTGRESQL_HINT)
    return Path(database_url.removeprefix("sqlite:///"))


def backup_sqlite(database_url: str, out: Path) -> BackupInfo:
    """Copy the live database to ``out`` (replaced only once the copy is whole and sound)."""
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise BackupError(f"no database at {source_path}")
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, timeout=30)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)  # pages=-1: all at once, one consistent snapshot
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
    finally:
        source.close()
    info = check_backup(partial)
    os.replace(partial, out)
    return BackupInfo(out, info.revision, out.stat().st_size, info.conversations)


def check_backup(path: Path) -> BackupInfo:
    """A sound SQLite file holding a convoscope database at a revision this version knows."""
    if not path.is_file():
        raise BackupError(f"no file at {path}")
    with path.open("rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"{path} is not a SQLite database")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"{path} fails its integrity check: {'; '.join(problems[:5])}")
        try:
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            conversations = conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
        except sqlite3.DatabaseError as err:
            raise BackupError(f"{path} is not a convoscope database ({err})") from None
    finally:
        conn.close()
    if revision is None:
        raise BackupError(f"{path} has no migration revision")
    known = _known_revisions()
    if revision[0] not in known:
        raise BackupError(
            f"{path} is at revision {revision[0]}, which this version of convoscope does not "
            f"know (newest: {_head()}); restore it with the version that made it"
        )
    return BackupInfo(path, str(revision[0]), path.stat().st_size, int(conversations))


def restore_sqlite(backup: Path, database_url: str) -> BackupInfo:
    """Replace the database's content by the backup's, in one transaction."""
    info = check_backup(backup)
    target_path = sqlite_path(database_url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(target_path, timeout=30)
        try:
            target.execute("PRAGMA journal_mode=WAL")
            source.backup(target)
            target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            target.close()
    finally:
        source.close()
    return info


def _script() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def _known_revisions() -> set[str]:
    return {script.revision for script in _script().walk_revisions()}


def _head() -> str | None:
    return _script().get_current_head()
