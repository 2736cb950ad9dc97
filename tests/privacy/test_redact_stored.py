"""`convoscope redact` applies a project's redaction to data stored before it was on:
a dry run counts per kind and changes nothing; --apply rewrites every redacted column,
derives the semantic threads again, leaves other projects alone, and a second run finds
nothing left to do."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from convoscope.cli import app
from convoscope.store.tables import semantic_threads
from tests.api.test_redaction import EMAIL, log_everything, stored_text
from tests.conftest import ProjectKeys

runner = CliRunner()


def invoke(env: dict[str, str], *args: str) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


async def test_redact_dry_run_then_apply(
    client: httpx.AsyncClient,
    engine: Engine,
    project: ProjectKeys,
    other_project: ProjectKeys,
    database_url: str,
) -> None:
    await log_everything(client)
    other = {"Authorization": f"Bearer {other_project.api_key}"}
    body = {"id": "o1", "type": "openai", "messages": [{"role": "user", "content": EMAIL}]}
    assert (await client.post("/conversations", json=body, headers=other)).status_code == 200
    env = {"CONVOSCOPE_DATABASE_URL": database_url}
    invoke(env, "projects", "set", "acme", "--redact", "default", "--allow-keys", "plan")

    dry = invoke(env, "redact", "--project", "acme", "--dry-run")
    assert "dry run: nothing changed" in dry
    for line in ("│ email │ 8 ", "│ card  │ 2 ", "│ phone │ 1 ", "│ ip    │ 1 "):
        assert line in dry, dry
    assert stored_text(engine).count(EMAIL) == 14  # 12 in acme's rows and threads, 2 in globex's

    applied = invoke(env, "redact", "--project", "acme", "--apply")
    assert "semantic threads derived again for 1 conversations" in applied
    stored = stored_text(engine)
    assert stored.count(EMAIL) == 2  # globex's conversation and its thread
    with engine.connect() as conn:
        question = conn.execute(
            select(semantic_threads.c.question).where(
                semantic_threads.c.project_id == project.scope.project_id
            )
        ).scalar_one()
    assert question == "my card is <CARD>, mail <EMAIL>"

    again = invoke(env, "redact", "--project", "acme", "--apply")
    assert "semantic threads derived again for 0 conversations" in again


def test_redact_needs_redaction_on_and_one_mode(env: dict[str, str]) -> None:
    invoke(env, "projects", "create", "docs")
    off = runner.invoke(app, ["redact", "--project", "docs", "--dry-run"], env=env)
    assert off.exit_code == 1 and "redaction is off for this project" in off.stderr
    neither = runner.invoke(app, ["redact", "--project", "docs"], env=env)
    assert neither.exit_code == 1 and "exactly one of --dry-run and --apply" in neither.stderr
