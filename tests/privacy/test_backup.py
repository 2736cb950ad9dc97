"""A backup taken while the server writes is a sound, consistent database at the current
revision; restoring it gives back exactly what it holds; broken or foreign files are
refused before anything is replaced."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from convoscope.cli import app
from convoscope.store.migrate import head_revision
from tests.builders import openai_conversation
from tests.conftest import LiveServer

runner = CliRunner()


def snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The rows a backup is compared by."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            "conversations": conn.execute(
                "SELECT id, message_count FROM conversations ORDER BY id"
            ).fetchall(),
            "messages": conn.execute(
                "SELECT conversation_id, count(*) FROM messages GROUP BY 1 ORDER BY 1"
            ).fetchall(),
            "threads": conn.execute(
                "SELECT conversation_id, count(*) FROM semantic_threads GROUP BY 1 ORDER BY 1"
            ).fetchall(),
        }
    finally:
        conn.close()


def test_backup_while_the_server_writes_then_restore(
    live_server: LiveServer, database_url: str, dialect: str, tmp_path: Path
) -> None:
    if dialect != "sqlite":
        pytest.skip("PostgreSQL is backed up with pg_dump")
    stop = threading.Event()
    written: list[str] = []

    def write() -> None:
        headers = {"Authorization": f"Bearer {live_server.project.api_key}"}
        with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as http:
            deadline = time.monotonic() + 60
            n = 0
            while not stop.is_set() and time.monotonic() < deadline and n < 5000:
                cid = f"c{n:05d}"
                # Three turns each, written as a client does: the history grows.
                for turns in (1, 2, 3):
                    body = openai_conversation(cid, turns=turns)
                    assert http.post("/conversations", json=body).status_code == 200
                written.append(cid)
                n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 20:
            time.sleep(0.02)
        env = {"CONVOSCOPE_DATABASE_URL": database_url}
        out = tmp_path / "backup.db"
        made = runner.invoke(app, ["backup", str(out)], env=env)
        during = len(written)
        assert made.exit_code == 0, made.output
    finally:
        stop.set()
        writer.join(timeout=60)
    assert len(written) > during, "the server went on writing after the backup"
    assert made.stdout.startswith("backed up ")
    assert f"at revision {head_revision()}" in made.stdout
    assert not out.with_name("backup.db-wal").exists()
    copy = snapshot(out)
    # One moment's database: each conversation whole, its messages and threads with it.
    assert len(copy["conversations"]) >= 20
    for (cid, count), (mid, messages), (tid, threads) in zip(
        copy["conversations"], copy["messages"], copy["threads"], strict=True
    ):
        assert cid == mid == tid and count == messages and threads == count // 2

    restored_url = f"sqlite:///{tmp_path / 'restored' / 'convoscope.db'}"
    restored = runner.invoke(
        app, ["restore", str(out)], env={"CONVOSCOPE_DATABASE_URL": restored_url}
    )
    assert restored.exit_code == 0, restored.output
    assert snapshot(tmp_path / "restored" / "convoscope.db") == copy
    # Over a database that holds data, only when told.
    again = runner.invoke(app, ["restore", str(out)], env={"CONVOSCOPE_DATABASE_URL": restored_url})
    assert again.exit_code == 1 and "pass --yes" in again.stderr


def test_restore_refuses_what_is_not_a_sound_convoscope_backup(tmp_path: Path) -> None:
    env = {"CONVOSCOPE_DATABASE_URL": f"sqlite:///{tmp_path / 'target.db'}"}
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    future = tmp_path / "future.db"
    with sqlite3.connect(future) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
        conn.execute("CREATE TABLE conversations (id TEXT)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999')")
    for path, message in (
        (text, "is not a SQLite database"),
        (foreign, "is not a convoscope database"),
        (future, "is at revision 9999, which this version of convoscope does not know"),
    ):
        result = runner.invoke(app, ["restore", str(path)], env=env)
        assert result.exit_code == 1 and message in result.stderr, result.output
    assert not (tmp_path / "target.db").exists()


def test_backup_of_a_postgresql_database_says_to_use_pg_dump(
    database_url: str, dialect: str, tmp_path: Path
) -> None:
    if dialect != "postgresql":
        pytest.skip("SQLite is backed up by convoscope backup")
    result = runner.invoke(
        app, ["backup", str(tmp_path / "b.db")], env={"CONVOSCOPE_DATABASE_URL": database_url}
    )
    assert result.exit_code == 1 and "pg_dump --format=custom" in result.stderr
