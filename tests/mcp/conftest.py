"""A real ``convoscope serve`` on a SQLite file, with data in three projects, for the MCP
tests; and MCP clients on it, the SDK's own, over streamable HTTP and over stdio."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from convoscope.store import make_engine
from convoscope.store.migrate import upgrade
from tests.conftest import ProjectKeys, make_project
from tests.e2e.server import free_port, start_server, wait_until_healthy

AT = "2026-03-02T10:00:00.000Z"
WINDOW = {"after": "2026-03-01T00:00:00.000Z", "before": "2026-03-05T00:00:00.000Z"}


@dataclass(frozen=True)
class McpServer:
    url: str
    database_url: str
    acme: ProjectKeys
    globex: ProjectKeys
    bulk: ProjectKeys
    feedback_id: str


@asynccontextmanager
async def connect(url: str, key: str | None, *, mode: str = "auto") -> AsyncIterator[Client]:
    """The SDK's client on ``url``/mcp, authenticated with ``key``; ``mode="legacy"``
    speaks the initialize handshake of the clients released before 2026."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(20.0))
    async with (
        http,
        Client(
            streamable_http_client(f"{url}/mcp", http_client=http),
            cache=None,
            read_timeout_seconds=20,
            mode=mode,
        ) as client,
    ):
        yield client


def text(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def structured(result: CallToolResult) -> Any:
    assert not result.is_error, text(result)
    return result.structured_content


def _conversation(cid: str, question: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "type": "openai",
        "createdAt": AT,
        "userProperties": {"id": f"user-{cid}"},
        "properties": {"plan": "pro"},
        "messages": [
            {"id": f"{cid}-q", "role": "user", "content": question, "createdAt": AT},
            {"id": f"{cid}-a", "role": "assistant", "content": "Open Settings.", "createdAt": AT},
        ],
        **fields,
    }


async def seed(client: httpx.AsyncClient, keys: ProjectKeys) -> str:
    """acme: two conversations with feedback, events and annotated threads. Returns the
    id of the negative feedback."""
    auth = {"Authorization": f"Bearer {keys.api_key}"}
    for body in (
        _conversation("c1", "How do I rotate my API key?", externalId="ext-1"),
        _conversation("c2", "Does SSO work with Okta?"),
    ):
        response = await client.post("/conversations", json=body, headers=auth)
        assert response.status_code == 200, response.text
    negative = await client.post(
        "/feedback",
        headers=auth,
        json={"messageId": "c1-a", "type": "negative", "createdAt": AT,
              "reasons": [{"label": "inaccurate", "details": "no such button"}]},
    )  # fmt: skip
    assert negative.status_code == 200, negative.text
    await client.post(
        "/feedback", headers=auth, json={"messageId": "c2-a", "type": "positive", "createdAt": AT}
    )
    for query in ("rotate key", "rotate key", "okta"):
        event = {"entityType": "search", "type": "search", "searchQuery": query, "createdAt": AT,
                 "userProperties": {"id": "searcher"}}  # fmt: skip
        assert (await client.post("/events", json=event, headers=auth)).status_code == 200
    threads = (
        await client.post(
            "/query/semantic-threads",
            headers=auth,
            json={"select": [{"type": "field", "field": "id"},
                             {"type": "field", "field": "conversationIds"}]},
        )
    ).json()["data"]["result"]  # fmt: skip
    annotations = {
        "c1": {"category": "keys", "subject": "key rotation", "isDocumented": False,
               "gapSummary": "no page on rotating keys"},
        "c2": {"category": "sso", "subject": "okta", "isDocumented": True},
    }  # fmt: skip
    for thread in threads:
        verified = await client.post(
            f"/convoscope/semantic-threads/{thread['id']}/verify",
            headers=auth,
            json=annotations[thread["conversationIds"][0]],
        )
        assert verified.status_code == 200, verified.text
    return str(negative.json()["id"])


async def seed_bulk(client: httpx.AsyncClient, keys: ProjectKeys) -> None:
    """bulk: three conversations of 40,000 characters each, more than one result holds."""
    auth = {"Authorization": f"Bearer {keys.api_key}"}
    for i in range(3):
        body = _conversation(f"big{i}", "x" * 40_000)
        assert (await client.post("/conversations", json=body, headers=auth)).status_code == 200


def start(database_url: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    server = start_server(database_url, port, ANNOTATION_WORKER="false", LOG_LEVEL="warning")
    return server, f"http://127.0.0.1:{port}"


def stop(server: subprocess.Popen[str]) -> None:
    server.terminate()
    try:
        server.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.communicate()


@pytest.fixture(scope="module")
def mcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpServer]:
    import anyio

    folder = tmp_path_factory.mktemp("mcp")
    database_url = f"sqlite:///{folder / 'convoscope.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    acme, globex, bulk = (make_project(engine, n) for n in ("acme", "globex", "bulk"))
    engine.dispose()
    server, url = start(database_url)
    try:

        async def prepare() -> str:
            async with httpx.AsyncClient(base_url=url, timeout=20) as client:
                await wait_until_healthy(client)
                await seed_bulk(client, bulk)
                return await seed(client, acme)

        feedback_id = anyio.run(prepare)
        yield McpServer(url, database_url, acme, globex, bulk, feedback_id)
    finally:
        stop(server)
