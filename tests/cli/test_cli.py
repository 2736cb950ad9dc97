"""The command line: projects, keys shown once, revocation, migrations, bad settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from convoscope.cli import app
from convoscope.cli.serve import _first_start
from convoscope.store import make_engine

runner = CliRunner()


def test_keys_create_prints_the_key_alone_on_the_last_line(env: dict[str, str]) -> None:
    assert runner.invoke(app, ["projects", "create", "docs-bot"], env=env).exit_code == 0
    result = runner.invoke(
        app, ["keys", "create", "--project", "docs-bot", "--type", "web"], env=env
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("cvs_") and len(key) == 47
    listing = runner.invoke(app, ["keys", "list", "--project", "docs-bot"], env=env)
    assert key[:10] in listing.stdout
    assert key not in listing.stdout, "a key is shown only when it is created"


def test_revoked_keys_are_listed_as_revoked(env: dict[str, str]) -> None:
    runner.invoke(app, ["projects", "create", "p"], env=env)
    created = runner.invoke(app, ["keys", "create", "--project", "p"], env=env)
    key_id = created.stdout.split("key ")[1].split()[0]
    revoked = runner.invoke(app, ["keys", "revoke", key_id], env=env)
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(app, ["keys", "list"], env=env).stdout


def test_errors_are_one_line_and_exit_1(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["keys", "create", "--project", "missing"], env=env)
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no project named 'missing'"
    runner.invoke(app, ["projects", "create", "twice"], env=env)
    again = runner.invoke(app, ["projects", "create", "twice"], env=env)
    assert again.stderr.strip() == "error: a project named 'twice' already exists"
    bad_type = runner.invoke(
        app, ["keys", "create", "--project", "twice", "--type", "admin"], env=env
    )
    assert bad_type.exit_code == 2


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "CONVOSCOPE_DATABASE_URL",
            "postgres://u:secret@h/db",
            "CONVOSCOPE_DATABASE_URL: use the psycopg 3 driver: write postgresql+psycopg://… "
            "instead of postgres://…",
        ),
        (
            "CONVOSCOPE_DATABASE_URL",
            "mysql://u:secret@h/db",
            "CONVOSCOPE_DATABASE_URL: must start with sqlite:/// or postgresql+psycopg://; got "
            "'mysql://u:***@h/db'",
        ),
        (
            "CONVOSCOPE_PORT",
            "eighty",
            "CONVOSCOPE_PORT: Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
        (
            "CONVOSCOPE_LOG_LEVEL",
            "loud",
            "CONVOSCOPE_LOG_LEVEL: must be one of debug, info, warning, error; got 'loud'",
        ),
    ],
)
def test_a_bad_setting_stops_the_command_with_the_fix(
    variable: str, value: str, message: str
) -> None:
    result = runner.invoke(app, ["projects", "list"], env={variable: value})
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == message
    assert "secret" not in result.stderr


def test_first_start_creates_a_default_project_key_and_admin_once(tmp_path: Path) -> None:
    from convoscope.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(engine)
    first = _first_start(engine, "http://127.0.0.1:8080")
    assert first is not None
    key, link = first
    assert key.startswith("cvs_")
    assert link.startswith("http://127.0.0.1:8080/dashboard/signin/")
    assert _first_start(engine, "http://127.0.0.1:8080") is None
    engine.dispose()


def test_db_commands_report_the_revision(env: dict[str, str]) -> None:
    current = runner.invoke(app, ["db", "current"], env=env)
    assert current.exit_code == 0
    assert "current: " in current.stdout and "newest:" in current.stdout
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0


def test_db_distribute_refuses_a_database_without_citus_and_says_what_to_do(
    env: dict[str, str], dialect: str
) -> None:
    result = runner.invoke(app, ["db", "distribute"], env=env)
    assert result.exit_code == 1
    if dialect == "sqlite":
        assert "this database is SQLite" in result.stderr
    else:
        assert "CREATE EXTENSION citus" in result.stderr
