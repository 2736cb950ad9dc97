"""The layers import only downward (../shared/DESIGN.md): the import-linter contracts of
pyproject.toml hold, and they do catch a back-arrow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "convoscope"


def _lint(source_root: Path) -> subprocess.CompletedProcess[str]:
    # In a child process, so the package analysed is the one under source_root.
    code = (
        "import sys\n"
        "from importlinter.cli import lint_imports\n"
        f"sys.exit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r},"
        " no_cache=True, no_logo=True))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(source_root), "PATH": "/usr/bin:/bin"},
        cwd=source_root,
    )


def test_the_contracts_are_kept() -> None:
    result = _lint(PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_a_back_arrow_breaks_them(tmp_path: Path) -> None:
    copy = tmp_path / "convoscope"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("static", "templates", "data"))
    tables = copy / "store" / "tables.py"
    tables.write_text(tables.read_text() + "\nfrom convoscope.api import problems  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "convoscope.store.tables -> convoscope.api.problems" in result.stdout
