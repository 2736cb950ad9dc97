"""``convoscope mcp`` as an MCP client starts it, over stdio with the official client: on
the local database for one project (beside a running server on the same file), and with
``--server-url`` forwarding to a server, where the key decides what is offered."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from mcp import Client, StdioServerParameters
from typer.testing import CliRunner

from convoscope.cli import app
from tests.mcp.conftest import McpServer, structured, text
from tests.mcp.test_http import COUNT, INKEEP_TOOLS, OURS

pytestmark = pytest.mark.timeout(120)


@asynccontextmanager
async def stdio(*args: str, **env: str) -> AsyncIterator[Client]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "convoscope.cli", "mcp", *args],
        env={**os.environ, "CONVOSCOPE_LOG_LEVEL": "warning", **env},
    )
    async with Client(params, cache=None, read_timeout_seconds=30) as client:
        yield client


async def test_stdio_serves_one_project_of_the_local_database(mcp_server: McpServer) -> None:
    async with stdio("--project", "acme", CONVOSCOPE_DATABASE_URL=mcp_server.database_url) as c:
        assert [t.name for t in (await c.list_tools()).tools] == INKEEP_TOOLS + OURS
        counted = await c.call_tool("query-conversations", {"request": COUNT})
        assert structured(counted)["data"]["result"] == [{"count": 2}]
        transcript = structured(await c.call_tool("conversation-get", {"request": {"id": "c2"}}))
        assert transcript["messages"][0]["content"] == "Does SSO work with Okta?"
        refused = await c.call_tool("query-conversations", {"request": {"notes": "n" * 81}})
        assert refused.is_error and "request.notes" in text(refused)
        # Writes go through the local writer, while the server has the file open too.
        submitted = await c.call_tool(
            "feedback-submit", {"request": {"messageId": "c2-a", "type": "negative"}}
        )
        feedback_id = structured(submitted)["id"]
        deleted = await c.call_tool(
            "feedback-delete-feedback-by-id", {"request": {"id": feedback_id}}
        )
        assert structured(deleted)["success"] is True
    async with stdio("--project", "globex", CONVOSCOPE_DATABASE_URL=mcp_server.database_url) as c:
        counted = await c.call_tool("query-conversations", {"request": COUNT})
        assert structured(counted)["data"]["result"] == [{"count": 0}]


async def test_stdio_forwards_to_a_server_with_the_keys_rights(mcp_server: McpServer) -> None:
    async with stdio("--server-url", mcp_server.url, "--api-key", mcp_server.acme.api_key) as c:
        assert [t.name for t in (await c.list_tools()).tools] == INKEEP_TOOLS + OURS
        counted = await c.call_tool("query-conversations", {"request": COUNT})
        assert structured(counted)["data"]["result"] == [{"count": 2}]
        refused = await c.call_tool(
            "query-conversations", {"request": {"select": [{"type": "field", "field": "x"}]}}
        )
        assert refused.is_error and "request.select[0].field" in text(refused)
    async with stdio(
        "--server-url", mcp_server.url, CONVOSCOPE_API_KEY=mcp_server.globex.web_key
    ) as c:
        assert [t.name for t in (await c.list_tools()).tools] == ["feedback-submit"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param([], "give --project", id="nothing-to-serve"),
        pytest.param(["--server-url", "http://127.0.0.1:9"], "needs --api-key", id="no-key"),
        pytest.param(
            ["--server-url", "http://127.0.0.1:9", "--api-key", "cvs_x"],
            "http://127.0.0.1:9: ",
            id="unreachable",
        ),  # fmt: skip
    ],
)
def test_the_command_says_what_is_missing_or_unreachable(args: list[str], says: str) -> None:
    result = CliRunner().invoke(app, ["mcp", *args], env={"CONVOSCOPE_API_KEY": ""})
    assert result.exit_code == 1
    assert says in result.output


def test_a_refused_key_ends_the_command_with_the_servers_answer(mcp_server: McpServer) -> None:
    result = CliRunner().invoke(
        app, ["mcp", "--server-url", mcp_server.url, "--api-key", "cvs_revoked-or-never-made"]
    )
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {mcp_server.url}: 401 Unauthorized: the API key")
