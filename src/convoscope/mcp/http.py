"""``/mcp``: the MCP server over streamable HTTP, inside the convoscope server.

Every request carries ``Authorization: Bearer <api key>``, verified exactly as the API
verifies it; the tools then work on that key's project. Stateless (a fresh transport per
request, JSON answers): each request stands alone, so any server process answers any
request, and no session outlives the key that made it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from convoscope.api import render_error
from convoscope.auth import Caller, KeyVerifier
from convoscope.errors import ConvoscopeError, Unauthorized
from convoscope.mcp.local import LocalBackend
from convoscope.mcp.server import build_server

PATH = "/mcp"
_CALLER = "convoscope.caller"


class _HttpResolver:
    """The caller the endpoint verified, and the app's database for their project."""

    def caller(self, request: Any | None) -> Caller:
        if not isinstance(request, Request) or not isinstance(request.scope.get(_CALLER), Caller):
            # Only the endpoint below hands requests to the server, after verifying them.
            raise ConvoscopeError("an MCP request reached the server unauthenticated")
        caller: Caller = request.scope[_CALLER]
        return caller

    def backend(self, request: Any | None, caller: Caller) -> LocalBackend:
        assert isinstance(request, Request)
        state = request.app.state
        return LocalBackend(
            state.db,
            caller.scope,
            state.settings.query_timeout_seconds,
            advisor=state.path_advisor,
        )


class McpEndpoint:
    """The ASGI endpoint to route ``/mcp`` to; ``running()`` belongs in the app's lifespan."""

    def __init__(self) -> None:
        self.server = build_server(_HttpResolver())
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        # A fresh manager each run (the SDK's cannot be started twice); the Starlette app
        # built around it is not used: the endpoint below authenticates, then hands over.
        self.server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            # DNS-rebinding protection guards servers that trust the browser's network
            # position; this one trusts only the Bearer key, which no rebound page has.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager = self.server.session_manager
        # The manager's task group lives in a task of its own: a lifespan may be left in
        # another task than the one that entered it (in-process test clients do), and a
        # task group can only be left where it was entered.
        stop = asyncio.Event()
        up = asyncio.Event()

        async def hold() -> None:
            async with manager.run():
                up.set()
                await stop.wait()

        task = asyncio.create_task(hold())
        ready = asyncio.create_task(up.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            ready.cancel()
            task.result()  # it failed to start: raise why
        self._manager = manager
        try:
            yield
        finally:
            self._manager = None
            stop.set()
            await task

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self._manager
        if manager is None:
            raise ConvoscopeError("the MCP endpoint is not running")
        request = Request(scope)
        verifier: KeyVerifier = request.app.state.key_verifier
        try:
            caller = await verifier.verify(request.headers.get("authorization"))
        except Unauthorized as err:
            # RFC 6750 §3: a 401 says how to authenticate. MCP clients read it to tell a
            # missing key from a server that is down.
            answer = render_error(request, err)
            answer.headers["WWW-Authenticate"] = "Bearer"
            await answer(scope, receive, send)
            return
        await manager.asgi_app({**scope, _CALLER: caller}, receive, send)
