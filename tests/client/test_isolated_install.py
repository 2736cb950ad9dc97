"""The client installs and works on its own: a fresh virtual environment with only httpx,
pydantic and the ``convoscope-client`` wheel built from ``clients/python`` talks to a
``convoscope serve`` started as users start it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from convoscope.store import make_engine
from convoscope.store.migrate import upgrade
from tests.conftest import ProjectKeys, make_project
from tests.e2e.server import free_port, start_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, ProjectKeys]]:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    engine = make_engine(url)
    upgrade(engine)
    keys = make_project(engine, "acme")
    engine.dispose()
    port = free_port()
    server = start_server(url, port, ANNOTATION_WORKER="false")
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                pytest.fail(f"the server stopped: {server.communicate()[1]}")
            subprocess.run(["sleep", "0.05"], check=True)
        yield base, keys
    finally:
        server.terminate()
        server.communicate(timeout=30)


def _client_sources(into: Path) -> Path:
    """The files the client distribution is built from, laid out as in the repository."""
    shutil.copytree(ROOT / "clients" / "python", into / "clients" / "python")
    package = into / "src" / "convoscope"
    package.mkdir(parents=True)
    shutil.copy(ROOT / "src" / "convoscope" / "__init__.py", package)
    shutil.copy(ROOT / "src" / "convoscope" / "py.typed", package)
    for sub in ("client", "openai"):
        shutil.copytree(
            ROOT / "src" / "convoscope" / sub,
            package / sub,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    return into / "clients" / "python"


SCRIPT = """
import sys
from convoscope.client import BackgroundLogger, Client, NotFound

assert not {"fastapi", "sqlalchemy", "starlette", "uvicorn"} & set(sys.modules)
base, key = sys.argv[1], sys.argv[2]
with Client(base, key) as client:
    stored = client.log_conversation({"id": "alone", "type": "openai",
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]})
    client.log_feedback({"type": "positive", "messageId": stored.messages[1].id})
    logger = BackgroundLogger(base, key)
    logger.log_conversation({"id": "queued", "type": "openai",
        "messages": [{"role": "user", "content": "later"}]})
    assert logger.shutdown()
    rows = [row["id"] for row in client.export_rows("conversations",
        {"select": [{"type": "field", "field": "id"}],
         "orderBy": [{"field": "id", "direction": "asc"}]})]
    assert rows == ["alone", "queued"], rows
    try:
        client.get_conversation("missing")
    except NotFound as missing:
        print("ok", missing.status)
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=True, capture_output=True, text=True, timeout=300)


def test_client_alone_in_a_fresh_venv(tmp_path: Path, served: tuple[str, ProjectKeys]) -> None:
    base, keys = served
    project = _client_sources(tmp_path / "sources")
    dist = tmp_path / "dist"
    _run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(project), "-w", str(dist)
    )
    wheel = next(dist.glob("convoscope_client-*.whl"))
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", str(venv))  # no --system-site-packages: nothing else
    python = str(venv / "bin" / "python")
    _run(
        python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        f"httpx=={version('httpx')}", f"pydantic=={version('pydantic')}", str(wheel),
    )  # fmt: skip
    installed = _run(python, "-m", "pip", "list", "--format=freeze")
    names = {line.split("==")[0].lower() for line in installed.stdout.split()}
    assert not names & {"fastapi", "sqlalchemy", "starlette", "uvicorn", "alembic", "convoscope"}
    assert "convoscope-client" in names
    # Run from elsewhere, so that nothing of the repository is on the path.
    done = subprocess.run(
        [python, "-c", textwrap.dedent(SCRIPT), base, keys.api_key],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok 404"
