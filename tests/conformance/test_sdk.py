"""The official npm SDK (@inkeep/inkeep-analytics 0.2.4-alpha.27) works against a real
convoscope server unchanged: every scenario script must pass with no validation error."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import LiveServer

HERE = Path(__file__).parent
SCENARIOS = sorted(p.name for p in HERE.glob("*.mjs") if p.name != "harness.mjs")

pytestmark = pytest.mark.conformance


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sdk_scenario_passes(live_server: LiveServer, scenario: str) -> None:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "@inkeep").is_dir():
        pytest.fail("Node or the SDK is missing: run `make test`, which installs them")
    env = {
        **os.environ,
        "CONVOSCOPE_URL": live_server.url,
        "CONVOSCOPE_API_KEY": live_server.project.api_key,
        "CONVOSCOPE_WEB_KEY": live_server.project.web_key,
        "CONVOSCOPE_OTHER_API_KEY": live_server.other.api_key,
    }
    result = subprocess.run(
        [node, scenario], cwd=HERE, env=env, capture_output=True, text=True, timeout=180
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert " 0 failed" in result.stdout.splitlines()[-1], report
