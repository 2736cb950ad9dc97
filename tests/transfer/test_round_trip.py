"""Export, import into an empty database, export again: the same file, byte for byte.

Everything an export holds comes back as it was: conversations of each type with every
field and timestamp, feedback, events (those of no stored conversation too) and the
annotations of threads, including what a person verified and what failed.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
from sqlalchemy import Engine
from typer.testing import CliRunner

from convoscope.cli import app
from tests.conftest import ProjectKeys
from tests.transfer.conftest import seed

runner = CliRunner()


def run(database_url: str, *args: str) -> str:
    result = runner.invoke(app, list(args), env={"CONVOSCOPE_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_project_exported_imported_and_exported_again_gives_the_same_file(
    database_url: str,
    engine: Engine,
    project: ProjectKeys,
    other_database_url: str,
    other_project: ProjectKeys,
    tmp_path: Path,
) -> None:
    seed(engine, project.scope)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    run(database_url, "export", "--project", "acme", "--out", str(first))
    run(other_database_url, "import", str(first), "--project", "acme")
    run(other_database_url, "export", "--project", "acme", "--out", str(second))
    assert second.read_bytes() == first.read_bytes()

    lines = [orjson.loads(line) for line in first.read_bytes().splitlines()]
    conversations = [line["conversation"] for line in lines if "conversation" in line]
    assert [c["id"] for c in conversations] == ["conv_a", "conv_b", "conv_c", "conv_d"]
    assert sum(len(line.get("feedback", [])) for line in lines) == 2
    assert sum(len(line.get("events", [])) for line in lines) == 2
    loose = [line["event"] for line in lines if "event" in line]
    assert sorted(e.get("searchQuery") or e["conversationId"] for e in loose) == [
        "conv_never",
        "refund policy",
    ]
    threads = {t["status"]: t for line in lines for t in line.get("threads", [])}
    assert threads["done"]["annotations"]["subject"] == "refunds"
    assert threads["done"]["verifiedFields"] == ["subject"]
    assert threads["failed"] == {
        "id": threads["failed"]["id"],
        "status": "failed",
        "attempts": 1,
        "error": "analyzer crashed",
    }
    a = conversations[0]
    assert a["createdAt"] == "2025-03-01T09:30:00.123456Z"
    assert a["messages"][1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "https://x/y.png", "detail": "auto"},
    }


def test_gzipped_exports_round_trip_and_hold_the_same_lines(
    database_url: str,
    engine: Engine,
    project: ProjectKeys,
    other_database_url: str,
    other_project: ProjectKeys,
    tmp_path: Path,
) -> None:
    seed(engine, project.scope)
    plain, first, second = (tmp_path / n for n in ("p.jsonl", "a.jsonl.gz", "b.jsonl.gz"))
    run(database_url, "export", "--project", "acme", "--out", str(plain))
    run(database_url, "export", "--project", "acme", "--out", str(first))
    assert first.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(first.read_bytes()) == plain.read_bytes()
    run(other_database_url, "import", str(first), "--project", "acme")
    run(other_database_url, "export", "--project", "acme", "--out", str(second))
    assert second.read_bytes() == first.read_bytes()
    assert not list(tmp_path.glob("*.partial"))


def test_importing_an_export_twice_changes_nothing(
    database_url: str,
    engine: Engine,
    project: ProjectKeys,
    other_database_url: str,
    other_project: ProjectKeys,
    tmp_path: Path,
) -> None:
    seed(engine, project.scope)
    exported, after_one, after_two = (tmp_path / n for n in ("e.jsonl", "1.jsonl", "2.jsonl"))
    run(database_url, "export", "--project", "acme", "--out", str(exported))
    run(other_database_url, "import", str(exported), "--project", "acme")
    run(other_database_url, "export", "--project", "acme", "--out", str(after_one))
    again = run(other_database_url, "import", str(exported), "--project", "acme")
    assert "0 conversations written, 4 unchanged, 0 feedback, 0 events" in again
    run(other_database_url, "export", "--project", "acme", "--out", str(after_two))
    assert after_two.read_bytes() == after_one.read_bytes()


def test_an_empty_project_exports_an_empty_file(
    database_url: str, project: ProjectKeys, tmp_path: Path
) -> None:
    out = tmp_path / "empty.jsonl"
    assert "exported 0 conversations" in run(
        database_url, "export", "--project", "acme", "--out", str(out)
    )
    assert out.read_bytes() == b""


def test_an_unknown_project_is_an_error_naming_it(database_url: str, tmp_path: Path) -> None:
    for args in (
        ["export", "--project", "nope", "--out", str(tmp_path / "x.jsonl")],
        ["import", str(tmp_path / "x.jsonl"), "--project", "nope"],
    ):
        (tmp_path / "x.jsonl").write_bytes(b"")
        result = runner.invoke(app, args, env={"CONVOSCOPE_DATABASE_URL": database_url})
        assert result.exit_code == 1
        assert result.stderr.strip() == "error: no project named 'nope'"
    assert not list(tmp_path.glob("*.partial"))
