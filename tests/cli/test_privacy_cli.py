"""`convoscope projects set/show` change and show a project's data-protection settings,
leaving what is not named as it was, and refuse what they cannot store."""

from __future__ import annotations

from typer.testing import CliRunner

from convoscope.cli import app

runner = CliRunner()


def run(env: dict[str, str], *args: str) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_projects_set_changes_only_what_it_names(env: dict[str, str]) -> None:
    run(env, "projects", "create", "docs")
    assert run(env, "projects", "show", "docs") == (
        "project docs: redaction off; keeps conversations forever"
    )
    run(env, "projects", "set", "docs", "--redact", "default", "--redact-hash")
    run(env, "projects", "set", "docs", "--retention-days", "30", "--deny-keys", "address")
    assert run(env, "projects", "show", "docs") == (
        "project docs: redacts card, email, iban, ip, phone, secret (hashed placeholders); "
        "always replaces address; keeps conversations 30 days"
    )
    run(env, "projects", "set", "docs", "--redact", "email", "--retention-days", "none")
    assert run(env, "projects", "show", "docs") == (
        "project docs: redacts email (hashed placeholders); always replaces address; "
        "keeps conversations forever"
    )
    assert run(env, "projects", "set", "docs", "--redact", "off") == (
        "project docs: redaction off; keeps conversations forever"
    )


def test_projects_set_refuses_unknown_kinds_and_bad_days(env: dict[str, str]) -> None:
    run(env, "projects", "create", "docs")
    unknown = runner.invoke(app, ["projects", "set", "docs", "--redact", "emails"], env=env)
    assert unknown.exit_code == 1
    assert "unknown kind 'emails'; the kinds are default, email, phone" in unknown.stderr
    days = runner.invoke(app, ["projects", "set", "docs", "--retention-days", "0"], env=env)
    assert days.exit_code == 1 and "retention days must be at least 1" in days.stderr
    hashed = runner.invoke(app, ["projects", "set", "docs", "--redact-hash"], env=env)
    assert hashed.exit_code == 1 and "turn redaction on with --redact first" in hashed.stderr
