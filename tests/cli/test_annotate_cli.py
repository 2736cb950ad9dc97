"""The annotation commands: backfill with progress, status counts, glossary, verification."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from convoscope.cli import app
from convoscope.store import ConversationIn, MessageIn
from convoscope.store import conversations as conversation_store
from convoscope.store.tables import semantic_threads
from tests.conftest import make_project

runner = CliRunner()


@pytest.fixture
def env(database_url: str, engine: Engine) -> dict[str, str]:
    project = make_project(engine, "acme")
    with engine.begin() as conn:
        for i, question in enumerate(["Is there a dark mode?", "How do I export data?"]):
            conversation_store.upsert_conversation(
                conn,
                project.scope,
                ConversationIn(
                    type="openai",
                    id=f"c{i}",
                    messages=[
                        MessageIn(role="user", content=question),
                        MessageIn(role="assistant", content="Dark mode is not supported yet."),
                    ],
                ),
            )
    return {"CONVOSCOPE_DATABASE_URL": database_url}


def test_annotate_backfills_and_status_counts(env: dict[str, str]) -> None:
    before = runner.invoke(app, ["annotate", "--status"], env=env)
    assert before.exit_code == 0, before.output
    assert "acme" in before.stdout and "2" in before.stdout
    result = runner.invoke(app, ["annotate", "--project", "acme"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "annotated 2 threads"
    again = runner.invoke(app, ["annotate", "--project", "acme"], env=env)
    assert again.stdout.strip() == "nothing to annotate in acme"
    since = runner.invoke(app, ["annotate", "--project", "acme", "--since", "2000-01-01"], env=env)
    assert "queued 2 threads since 2000-01-01 again" in since.stdout


def test_glossary_and_verify(env: dict[str, str], engine: Engine) -> None:
    assert (
        runner.invoke(
            app, ["glossary", "set", "--project", "acme", "Acme", "Acme Cloud"], env=env
        ).exit_code
        == 0
    )
    shown = runner.invoke(app, ["glossary", "show", "--project", "acme"], env=env)
    assert "configured: Acme, Acme Cloud" in shown.stdout
    with engine.connect() as conn:
        thread_id = conn.execute(select(semantic_threads.c.id).limit(1)).scalar_one()
    verified = runner.invoke(
        app,
        [
            "threads",
            "verify",
            thread_id,
            "--project",
            "acme",
            "--set",
            "category=billing",
            "--set",
            "isDocumented=false",
        ],
        env=env,
    )
    assert verified.exit_code == 0, verified.output
    assert '"verifiedFields": [' in verified.stdout
    with engine.connect() as conn:
        row = conn.execute(
            select(semantic_threads.c.category, semantic_threads.c.is_documented).where(
                semantic_threads.c.id == thread_id
            )
        ).one()
    assert tuple(row) == ("billing", False)
    bad = runner.invoke(
        app, ["threads", "verify", thread_id, "--project", "acme", "--set", "colour=red"], env=env
    )
    assert bad.exit_code == 1
    assert "--set takes FIELD=VALUE with FIELD one of isOnTopic" in bad.stderr
    # Values are checked as the API checks them, before anything is stored.
    for setting, message in (
        ("isClear=banana", "--set isClear: Input should be a valid boolean"),
        ("sentiment=angry", "--set sentiment: Input should be 'positive', 'neutral' or"),
    ):
        wrong = runner.invoke(
            app, ["threads", "verify", thread_id, "--project", "acme", "--set", setting], env=env
        )
        assert wrong.exit_code == 1
        assert message in wrong.stderr
    with engine.connect() as conn:
        kept = conn.execute(
            select(semantic_threads.c.is_clear, semantic_threads.c.sentiment).where(
                semantic_threads.c.id == thread_id
            )
        ).one()
    assert "banana" not in tuple(kept) and "angry" not in tuple(kept)
