"""The MCP tools on PostgreSQL: the same answers as on SQLite, through a real server."""

from __future__ import annotations

import itertools

import httpx
import pytest

from convoscope.store import make_engine
from tests.conftest import make_project
from tests.e2e.server import wait_until_healthy
from tests.mcp.conftest import WINDOW, connect, seed, start, stop, structured
from tests.mcp.test_http import COUNT
from tests.pgcluster import create_database_from_template, drop_database

pytestmark = pytest.mark.timeout(120)
_names = itertools.count()


async def test_the_tools_answer_on_postgresql(postgres_server: str) -> None:
    name = f"mcp_{next(_names)}"
    url = create_database_from_template(postgres_server, name, "convoscope_template")
    engine = make_engine(url, pool_size=1)
    acme, globex = make_project(engine, "acme"), make_project(engine, "globex")
    engine.dispose()
    server, base = start(url)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:
            await wait_until_healthy(client)
            await seed(client, acme)
        async with connect(base, acme.api_key) as mcp:
            counted = await mcp.call_tool("query-conversations", {"request": COUNT})
            assert structured(counted)["data"]["result"] == [{"count": 2}]
            gaps = structured(await mcp.call_tool("documentation-gaps", {"request": WINDOW}))
            assert [g["subject"] for g in gaps["rows"]] == ["key rotation"]
            transcript = structured(
                await mcp.call_tool("conversation-get", {"request": {"id": "c1"}})
            )
            assert transcript["threads"][0]["gapSummary"] == "no page on rotating keys"
        async with connect(base, globex.api_key) as mcp:
            counted = await mcp.call_tool("query-conversations", {"request": COUNT})
            assert structured(counted)["data"]["result"] == [{"count": 0}]
    finally:
        stop(server)
        drop_database(postgres_server, name)
