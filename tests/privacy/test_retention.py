"""Retention deletes conversations older than the project's retention_days with
everything derived from them, leaves other projects and newer conversations alone, and
gives the disk space back; a dry run counts and deletes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from convoscope.cli import app
from convoscope.privacy import RetentionJob, run_retention_now
from convoscope.store import (
    ConversationIn,
    Database,
    EventIn,
    FeedbackIn,
    MessageIn,
    Scope,
    writer_connection,
)
from convoscope.store.conversations import upsert_conversation
from convoscope.store.erasure import Erased, sqlite_vacuum_mode
from convoscope.store.events import insert_event
from convoscope.store.feedback import upsert_feedback
from convoscope.store.privacy import PrivacySettings, save_privacy
from convoscope.store.tables import conversations, erasures, events, feedback, semantic_threads
from tests.conftest import ProjectKeys

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def log(engine: Engine, scope: Scope, cid: str, at: datetime, *, size: int = 200) -> None:
    text = "x" * size
    data = ConversationIn(
        type="openai",
        id=cid,
        messages=[
            MessageIn(role="user", content=f"q {text}", id=f"{cid}-q", created_at=at),
            MessageIn(role="assistant", content=f"a {text}", id=f"{cid}-a", created_at=at),
        ],
        created_at=at,
    )
    with writer_connection(engine) as conn, conn.begin():
        upsert_conversation(conn, scope, data)
        upsert_feedback(conn, scope, FeedbackIn(type="negative", message_id=f"{cid}-a"))
        insert_event(
            conn,
            scope,
            EventIn(entity_type="message", type="message:copied", message_id=f"{cid}-a"),
        )


def keep_days(engine: Engine, project: ProjectKeys, days: int | None) -> None:
    with writer_connection(engine) as conn, conn.begin():
        save_privacy(conn, project.scope.project_id, PrivacySettings(retention_days=days))


def counts(engine: Engine, project: ProjectKeys) -> dict[str, int]:
    pid = project.scope.project_id
    with engine.connect() as conn:
        return {
            t.name: conn.execute(
                select(func.count()).select_from(t).where(t.c.project_id == pid)
            ).scalar_one()
            for t in (conversations, feedback, events, semantic_threads)
        }


def fill(engine: Engine, project: ProjectKeys, other: ProjectKeys) -> None:
    for n in range(3):
        log(engine, project.scope, f"old{n}", NOW - timedelta(days=40 + n))
    log(engine, project.scope, "new", NOW - timedelta(days=5))
    log(engine, other.scope, "other-old", NOW - timedelta(days=400))
    old_search = EventIn(
        entity_type="search", type="search", search_query="old", created_at=NOW - timedelta(days=90)
    )
    with writer_connection(engine) as conn, conn.begin():
        insert_event(conn, project.scope, old_search)


def test_retention_deletes_what_is_older_with_what_was_derived(
    engine: Engine, project: ProjectKeys, other_project: ProjectKeys
) -> None:
    fill(engine, project, other_project)
    keep_days(engine, project, 30)
    dry = run_retention_now(engine, project_id=project.scope.project_id, dry_run=True, now=NOW)
    assert dry.by_project[project.scope.project_id] == Erased(
        conversations=3, messages=6, feedback=3, events=4, threads=3
    )
    assert counts(engine, project)["conversations"] == 4
    run = run_retention_now(engine, now=NOW, batch_size=2)
    assert run.by_project == {
        project.scope.project_id: Erased(
            conversations=3, messages=6, feedback=3, events=4, threads=3
        )
    }
    assert counts(engine, project) == {
        "conversations": 1,
        "feedback": 1,
        "events": 1,
        "semantic_threads": 1,
    }
    assert counts(engine, other_project)["conversations"] == 1  # keeps forever
    with engine.connect() as conn:
        audit = conn.execute(select(erasures.c.reason, erasures.c.conversations)).all()
    assert [tuple(a) for a in audit] == [("retention", 3)]


async def test_the_background_job_with_the_clock_set_forward(
    db: Database, engine: Engine, project: ProjectKeys, other_project: ProjectKeys
) -> None:
    fill(engine, project, other_project)
    keep_days(engine, project, 30)
    job = RetentionJob(db, clock=lambda: NOW + timedelta(days=60), batch_size=2)
    run = await job.run_once()
    assert run.by_project[project.scope.project_id].conversations == 4
    assert counts(engine, project)["conversations"] == 0
    assert (await job.run_once()).by_project == {}


def test_retention_gives_the_sqlite_file_its_space_back(
    engine: Engine,
    project: ProjectKeys,
    other_project: ProjectKeys,
    database_url: str,
    dialect: str,
) -> None:
    if dialect != "sqlite":
        pytest.skip("file sizes are SQLite's; PostgreSQL's VACUUM makes space reusable")
    assert sqlite_vacuum_mode(engine) == "incremental"
    for n in range(200):
        log(engine, project.scope, f"c{n}", NOW - timedelta(days=100), size=4000)
    path = Path(database_url.removeprefix("sqlite:///"))
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    full = path.stat().st_size
    keep_days(engine, project, 30)
    run_retention_now(engine, now=NOW)
    assert path.stat().st_size < full / 3
    assert path.with_name(path.name + "-wal").stat().st_size == 0


def test_cli_retention_run_dry_run(
    engine: Engine, project: ProjectKeys, other_project: ProjectKeys, database_url: str
) -> None:
    fill(engine, project, other_project)
    keep_days(engine, project, 30)
    env: dict[str, Any] = {"CONVOSCOPE_DATABASE_URL": database_url}
    runner = CliRunner()
    result = runner.invoke(app, ["retention", "run", "--project", "acme", "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    # Wall-clock now: every conversation of the fixture is far older than 30 days.
    assert "would delete:" in result.stdout
    assert " acme " in result.stdout and " 4 " in result.stdout
    assert counts(engine, project)["conversations"] == 4
    forever = runner.invoke(app, ["retention", "run", "--project", "globex"], env=env)
    assert forever.stdout.strip() == "keeps forever"


def test_db_vacuum_switches_an_older_sqlite_file_to_incremental(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # made before: auto_vacuum NONE
        old.execute("CREATE TABLE made_before (x)")
    env = {"CONVOSCOPE_DATABASE_URL": f"sqlite:///{path}"}
    result = CliRunner().invoke(app, ["db", "vacuum"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "vacuumed; auto_vacuum none -> incremental"
