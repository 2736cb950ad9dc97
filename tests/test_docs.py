"""Every setting and every command is documented where users look for them."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from convoscope.cli import app
from convoscope.settings import LLM_PREFIX, LLMSettings, Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _variables() -> list[tuple[str, str | None]]:
    """(variable, description) of every setting, the LLM analyzer's nested ones too."""
    out = []
    for name, field in Settings.model_fields.items():
        if name == "llm":
            out += [
                (f"{LLM_PREFIX}{inner.upper()}", spec.description)
                for inner, spec in LLMSettings.model_fields.items()
            ]
        else:
            out.append((f"CONVOSCOPE_{name.upper()}", field.description))
    return sorted(out)


@pytest.mark.parametrize(("variable", "description"), _variables())
def test_every_setting_is_in_the_readme(variable: str, description: str | None) -> None:
    assert f"`{variable}`" in README
    assert description, f"{variable} needs a description"


def _commands(group: typer.Typer, prefix: str = "convoscope") -> list[str]:
    names = [f"{prefix} {c.name}" for c in group.registered_commands if c.name]
    for sub in group.registered_groups:
        if sub.typer_instance is not None and sub.name:
            names += _commands(sub.typer_instance, f"{prefix} {sub.name}")
    return names


@pytest.mark.parametrize("command", _commands(app))
def test_every_command_is_in_the_readme(command: str) -> None:
    words = command.split()
    assert any(all(word in line for word in words) for line in README.splitlines()), (
        f"{command!r} is not shown in README.md"
    )
