"""The official npm SDK (@inkeep/inkeep-analytics 0.2.4-alpha.27) works against a real
convoscope server unchanged: every scenario script must pass with no validation error."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from convoscope.annotate import AnnotationWorker, InProcessRunner, WorkerSettings
from convoscope.store import Database, make_engine
from tests.conftest import LiveServer

HERE = Path(__file__).parent
# Scenarios that prepare their own data and need nothing but the server and its keys.
SCENARIOS = ["conversations.mjs", "feedback_events.mjs", "query.mjs"]

pytestmark = pytest.mark.conformance


def run_scenario(scenario: str, env: dict[str, str]) -> None:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "@inkeep").is_dir():
        pytest.fail("Node or the SDK is missing: run `make test`, which installs them")
    result = subprocess.run(
        [node, scenario],
        cwd=HERE,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert " 0 failed" in result.stdout.splitlines()[-1], report


def keys_env(live_server: LiveServer) -> dict[str, str]:
    return {
        "CONVOSCOPE_URL": live_server.url,
        "CONVOSCOPE_API_KEY": live_server.project.api_key,
        "CONVOSCOPE_WEB_KEY": live_server.project.web_key,
        "CONVOSCOPE_OTHER_API_KEY": live_server.other.api_key,
    }


def test_every_scenario_is_run() -> None:
    scripts = {p.name for p in HERE.glob("*.mjs")} - {"harness.mjs"}
    assert scripts == {*SCENARIOS, "annotated_threads.mjs"}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sdk_scenario_passes(live_server: LiveServer, scenario: str) -> None:
    run_scenario(scenario, keys_env(live_server))


THREADS = [
    ("How do I rotate my API key?", "Open Settings → API keys and click Rotate."),
    ("This is broken again and your docs are useless!", "Sorry, I could not find that."),
    ("Is there a dark mode?", "Dark mode is not supported yet; it is a feature request."),
    ("Wie exportiere ich meine Daten als CSV?", "Öffne Einstellungen und klicke Export."),
    ("Why does the webhook fail with a 401?", "Check the signing secret in Settings."),
    ("Can I invite my team?", "Yes: Settings → Members → Invite."),
]


async def test_sdk_queries_annotated_threads(
    live_server: LiveServer, database_url: str, shared_analyzer: Any
) -> None:
    run = os.urandom(4).hex()
    headers = {"Authorization": f"Bearer {live_server.project.api_key}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=headers) as client:
        for i, (question, answer) in enumerate(THREADS):
            body = {
                "type": "openai",
                "properties": {"run": run},
                "messages": [
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ],
            }
            assert (await client.post("/conversations", json=body)).status_code == 200, i
    engine = make_engine(database_url, pool_size=1)
    db = Database(engine)
    db.start()
    worker = AnnotationWorker(
        db, InProcessRunner(shared_analyzer), WorkerSettings(min_threads_to_fit=3)
    )
    try:
        while await worker.run_once():
            pass
    finally:
        db.writer.stop()
        engine.dispose()
    run_scenario("annotated_threads.mjs", {**keys_env(live_server), "CONVOSCOPE_RUN": run})
