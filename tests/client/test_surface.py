"""Promises about the client's surface: ``__all__`` sorted and complete, and importing
the client loads nothing of the server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import convoscope.client

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_all_is_sorted_and_complete() -> None:
    exported = convoscope.client.__all__
    assert exported == sorted(exported)
    public = {
        name
        for name, value in vars(convoscope.client).items()
        if not name.startswith("_") and isinstance(value, type)
    }
    assert public == set(exported)


def test_importing_the_client_loads_no_server_module() -> None:
    code = (
        "import sys, convoscope, convoscope.client; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'sqlalchemy', 'starlette', 'alembic', 'uvicorn', 'openai') "
        "or m.startswith(('convoscope.store', 'convoscope.api', 'convoscope.schemas'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
