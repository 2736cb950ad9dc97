"""Each package names what it offers in ``__all__``; importing a package for one name
loads only what that name needs."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "annotate", "api", "auth", "cli", "indexing", "mcp", "otlp", "privacy", "query",
    "schemas", "sql", "store", "transfer", "web",
]  # fmt: skip


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_offered_is_there(package: str) -> None:
    module = importlib.import_module(f"convoscope.{package}")
    folder = ROOT / "src" / "convoscope" / package
    for name in module.__all__:
        # A name that is also a module's would be that module once the module loads.
        assert not (folder / f"{name}.py").exists() and not (folder / name).is_dir(), name
        assert not isinstance(getattr(module, name), types.ModuleType), name
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def _loaded(*modules: str) -> set[str]:
    code = (
        "import importlib, sys\n"
        f"for m in {list(modules)!r}: importlib.import_module(m)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(done.stdout.split())


def test_the_package_files_load_no_library() -> None:
    loaded = _loaded(*(f"convoscope.{p}" for p in PACKAGES if p not in ("annotate", "cli", "sql",
                                                                      "transfer")))  # fmt: skip
    assert not {"sqlalchemy", "pydantic", "fastapi", "starlette", "numpy"} & loaded


def test_the_command_line_loads_no_server_and_the_analyzer_no_database() -> None:
    assert not {"fastapi", "starlette", "numpy"} & _loaded("convoscope.cli")
    assert not {"sqlalchemy", "pydantic"} & _loaded(
        "convoscope.annotate.runner", "convoscope.annotate.analyzers.offline"
    )
