"""An import killed halfway leaves whole conversations only, and run again it ends in the
state an import that was never interrupted reaches."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from convoscope.cli import app
from convoscope.store.tables import conversations, messages, semantic_threads
from tests.conftest import ProjectKeys

runner = CliRunner()
LINES = 2_000


def write_bodies(path: Path) -> None:
    """Create bodies with every id and time given, so two imports store the same bytes."""
    with path.open("w") as out:
        for n in range(LINES):
            out.write(
                f'{{"type":"openai","id":"c{n:05d}","createdAt":"2025-01-01T00:00:00Z",'
                f'"updatedAt":"2025-01-01T00:00:00Z","messages":['
                f'{{"id":"q{n}","role":"user","content":"question {n}",'
                f'"createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-01T00:00:00Z"}},'
                f'{{"id":"a{n}","role":"assistant","content":"answer {n}",'
                f'"createdAt":"2025-01-01T00:00:01Z","updatedAt":"2025-01-01T00:00:01Z"}}]}}\n'
            )


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (conversations, messages, semantic_threads)
        )


def test_an_import_killed_midway_is_finished_by_running_it_again(
    database_url: str,
    engine: Engine,
    project: ProjectKeys,
    other_database_url: str,
    other_project: ProjectKeys,
    tmp_path: Path,
) -> None:
    source = tmp_path / "bodies.jsonl"
    write_bodies(source)
    env = {**os.environ, "CONVOSCOPE_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "convoscope.cli", "import", str(source), "--project", "acme"]
    child = subprocess.Popen(
        [*command, "--batch-size", "10"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while counts(engine)[0] < 100:
            assert child.poll() is None, "the import ended before it could be interrupted"
            assert time.monotonic() < deadline, "the import made no progress"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    stored, stored_messages, threads = counts(engine)
    assert 100 <= stored < LINES
    assert (stored_messages, threads) == (2 * stored, stored), "whole conversations only"

    again = runner.invoke(app, command[3:], env={"CONVOSCOPE_DATABASE_URL": database_url})
    assert again.exit_code == 0, again.output
    assert f"{LINES - stored:,} conversations written, {stored:,} unchanged" in again.stdout
    once = runner.invoke(app, command[3:], env={"CONVOSCOPE_DATABASE_URL": other_database_url})
    assert once.exit_code == 0, once.output

    exports: list[bytes] = []
    for url in (database_url, other_database_url):
        out = tmp_path / f"export-{len(exports)}.jsonl"
        result = runner.invoke(
            app,
            ["export", "--project", "acme", "--out", str(out)],
            env={"CONVOSCOPE_DATABASE_URL": url},
        )
        assert result.exit_code == 0, result.output
        exports.append(out.read_bytes())
    assert exports[0] == exports[1]
    assert exports[0].count(b"\n") == LINES
