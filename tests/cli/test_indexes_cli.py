"""``convoscope indexes``: create, list and drop an index on a JSON path."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from convoscope.cli import app

runner = CliRunner()
COMPANY = ["conversations", "userProperties", "company"]


def test_create_list_and_drop(env: dict[str, str]) -> None:
    created = runner.invoke(app, ["indexes", "create", *COMPANY], env=env)
    assert created.exit_code == 0, created.output
    assert "indexed conversations.userProperties.company in" in created.stdout

    again = runner.invoke(app, ["indexes", "create", *COMPANY], env=env)
    assert again.exit_code == 0
    assert "conversations.userProperties.company is already indexed" in again.stdout

    listing = runner.invoke(app, ["indexes", "list"], env=env)
    assert listing.exit_code == 0
    assert "userProperties" in listing.stdout and "company" in listing.stdout
    assert "operator" in listing.stdout

    dropped = runner.invoke(app, ["indexes", "drop", *COMPANY], env=env)
    assert dropped.exit_code == 0
    assert "dropped the index of conversations.userProperties.company" in dropped.stdout
    assert "company" not in runner.invoke(app, ["indexes", "list"], env=env).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["indexes", "create", "messages", "properties", "a"], "resource 'messages' cannot"),
        (["indexes", "create", "events", "name", "a"], "field 'name' of events does not exist"),
        (["indexes", "create", "events", "type", "a"], "field 'type' of events is not a JSON"),
        (["indexes", "drop", *COMPANY], "is not indexed; `convoscope indexes list`"),
    ],
)
def test_mistakes_end_with_one_line_and_exit_1(
    env: dict[str, str], args: list[str], message: str
) -> None:
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1
    assert message in result.stderr
