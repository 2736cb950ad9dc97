"""``convoscope users``: people are created on projects, get one-time links, lose access
when removed, and passwords are stored only as argon2 hashes."""

from __future__ import annotations

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from convoscope.auth import hash_token, verify_password
from convoscope.cli import app
from convoscope.store.tables import dashboard_users, signin_links

runner = CliRunner()


def _projects(env: dict[str, str], *names: str) -> None:
    for name in names:
        assert runner.invoke(app, ["projects", "create", name], env=env).exit_code == 0


def test_users_create_list_and_remove(env: dict[str, str]) -> None:
    _projects(env, "docs", "support")
    created = runner.invoke(
        app,
        ["users", "create", "Ann@Example.com", "--project", "docs", "--project", "support"],
        env=env,
    )
    assert created.exit_code == 0, created.output
    admin = runner.invoke(
        app, ["users", "create", "bo@example.com", "--project", "docs", "--role", "admin"], env=env
    )
    assert admin.exit_code == 0, admin.output
    listing = runner.invoke(app, ["users", "list"], env=env).stdout
    assert "ann@example.com" in listing and "docs (viewer), support (viewer)" in listing
    assert "docs (admin)" in listing
    assert runner.invoke(app, ["users", "remove", "ann@example.com"], env=env).exit_code == 0
    assert "ann@example.com" not in runner.invoke(app, ["users", "list"], env=env).stdout


def test_a_bad_role_or_project_is_refused(env: dict[str, str]) -> None:
    _projects(env, "docs")
    bad_role = runner.invoke(
        app, ["users", "create", "a@example.com", "--project", "docs", "--role", "owner"], env=env
    )
    assert bad_role.exit_code == 1
    assert "--role must be admin or viewer" in bad_role.stderr
    missing = runner.invoke(app, ["users", "create", "a@example.com", "--project", "x"], env=env)
    assert missing.exit_code == 1
    assert "no project named 'x'" in missing.stderr


def test_users_link_prints_a_url_whose_token_is_stored_hashed(
    env: dict[str, str], engine: Engine
) -> None:
    _projects(env, "docs")
    runner.invoke(app, ["users", "create", "a@example.com", "--project", "docs"], env=env)
    result = runner.invoke(
        app, ["users", "link", "a@example.com"], env={**env, "CONVOSCOPE_PORT": "9999"}
    )
    assert result.exit_code == 0, result.output
    url = result.stdout.strip().splitlines()[-1]
    assert url.startswith("http://127.0.0.1:9999/dashboard/signin/")
    token = url.rsplit("/", 1)[1]
    with engine.connect() as conn:
        stored = conn.execute(select(signin_links.c.token_hash)).scalars().all()
    assert stored == [hash_token(token)]


def test_users_password_reads_stdin_and_stores_an_argon2_hash(
    env: dict[str, str], engine: Engine
) -> None:
    _projects(env, "docs")
    runner.invoke(app, ["users", "create", "a@example.com", "--project", "docs"], env=env)
    short = runner.invoke(app, ["users", "password", "a@example.com"], input="short\n", env=env)
    assert short.exit_code == 1
    result = runner.invoke(
        app, ["users", "password", "a@example.com"], input="correct horse\n", env=env
    )
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        stored = conn.execute(select(dashboard_users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "wrong horse")
