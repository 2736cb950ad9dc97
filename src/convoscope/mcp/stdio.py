"""``convoscope mcp``: the MCP server over stdio, for clients that start it as a command.

On the local database it works on one project, with the rights of an api key of that
project. With a server URL and a key it forwards every call to that server's ``/mcp``,
so the tools, their rights and their answers are the server's, for that key's project.
Nothing but the protocol goes to stdout.
"""

from __future__ import annotations

from typing import Any

import httpx2
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp_types import (
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
)

from convoscope import __version__
from convoscope.auth import Caller, KeyType
from convoscope.indexing import upgrade
from convoscope.mcp.http import PATH
from convoscope.mcp.local import LocalBackend
from convoscope.mcp.server import INSTRUCTIONS, build_server
from convoscope.settings import Settings
from convoscope.store import Database, Scope, make_engine
from convoscope.store import keys as key_store


class _Fixed:
    """One caller and one backend, whatever the request: stdio has one client."""

    def __init__(self, caller: Caller, backend: LocalBackend) -> None:
        self._caller, self._backend = caller, backend

    def caller(self, request: Any | None) -> Caller:
        return self._caller

    def backend(self, request: Any | None, caller: Caller) -> LocalBackend:
        return self._backend


async def serve_local(settings: Settings, project: str) -> None:
    """Serve ``project`` of the configured database on stdin/stdout until stdin closes."""
    # Writes take SQLite's lock at BEGIN, as the CLI's do (a server may be writing too);
    # reads go through an engine that does not, so a long query never holds the lock.
    writes = make_engine(settings.database_url, pool_size=1, lock_at_begin=True)
    reads = make_engine(settings.database_url, pool_size=4)
    try:
        upgrade(writes)
        with writes.begin() as conn:
            found = key_store.get_project(conn, project)
        db = Database(writes, replicas=[reads], write_batch_size=settings.write_batch_size)
        scope = Scope(found.organization_id, found.id)
        caller = Caller(key_id="stdio", key_type=KeyType.API, scope=scope)
        backend = LocalBackend(db, scope, settings.query_timeout_seconds)
        server = build_server(_Fixed(caller, backend))
        db.start()
        try:
            await server.run_stdio_async()
        finally:
            db.writer.stop()
    finally:
        reads.dispose()
        writes.dispose()


def remote_endpoint(server_url: str) -> str:
    return server_url.rstrip("/") + PATH


class RemoteRefused(Exception):
    """The server answered the MCP client with an HTTP error (a refused key, …)."""


async def serve_remote(server_url: str, api_key: str) -> None:
    """Serve on stdin/stdout what the server at ``server_url`` offers ``api_key``."""
    refusals: list[str] = []

    async def remember_refusal(response: httpx2.Response) -> None:
        # The MCP client reports any HTTP error as "Server returned an error response";
        # the server's problem says which (401: the key is unknown or revoked).
        if response.status_code >= 400:
            await response.aread()
            try:
                detail = str(response.json().get("detail", ""))
            except ValueError:
                detail = ""
            refusals.append(f"{response.status_code} {response.reason_phrase}: {detail}".strip())

    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=httpx2.Timeout(30.0, read=300.0),
        event_hooks={"response": [remember_refusal]},
    )
    try:
        await _proxy(http, server_url, refusals)
    except Exception as problem:
        if refusals:
            raise RemoteRefused(refusals[-1]) from problem
        raise


async def _proxy(http: httpx2.AsyncClient, server_url: str, refusals: list[str]) -> None:
    async with (
        http,
        Client(
            streamable_http_client(remote_endpoint(server_url), http_client=http), cache=None
        ) as remote,
    ):

        async def list_tools(
            ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
        ) -> ListToolsResult:
            return await remote.list_tools(cursor=params.cursor if params else None)

        async def call_tool(
            ctx: ServerRequestContext[Any], params: CallToolRequestParams
        ) -> CallToolResult:
            before = len(refusals)
            try:
                return await remote.call_tool(params.name, params.arguments)
            except MCPError as problem:
                if len(refusals) > before:  # the key was revoked meanwhile, …
                    raise MCPError(problem.error.code, refusals[-1]) from None
                raise

        proxy: Server[Any] = Server(
            "convoscope",
            version=__version__,
            instructions=INSTRUCTIONS,
            on_list_tools=list_tools,
            on_call_tool=call_tool,
        )
        async with stdio_server() as (read_stream, write_stream):
            await proxy.run(read_stream, write_stream, proxy.create_initialization_options())
