"""Every MCP tool is named in the README, where people setting up an agent look."""

from __future__ import annotations

from pathlib import Path

import pytest

from convoscope.mcp.tools import TOOLS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## MCP\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("name", [spec.name for spec in TOOLS])
def test_every_tool_is_named_in_the_readmes_mcp_section(name: str) -> None:
    assert f"`{name}`" in SECTION
