"""The MCP server object: every tool of ``tools.TOOLS`` registered on the SDK's
``MCPServer``, each resolving who calls and on which project at every call."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import orjson
from mcp.server import MCPServer, ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import create_model

from convoscope import __version__
from convoscope.api import parse_body
from convoscope.auth import Caller, require_read
from convoscope.errors import ConvoscopeError
from convoscope.mcp.bounds import bound
from convoscope.mcp.local import LocalBackend
from convoscope.mcp.tools import TOOLS, ToolSpec

INSTRUCTIONS = (
    "Analytics of an AI assistant's conversations: what people ask, the feedback on the "
    "answers, where the documentation has gaps. Start with top-questions or "
    "documentation-gaps for a range; conversation-get shows one transcript; the query-* "
    "tools answer anything else through the analytics DSL."
)


class Resolver(Protocol):
    """Who calls, and the backend on their project, from the transport's request (the
    HTTP request on streamable HTTP, None on stdio)."""

    def caller(self, request: Any | None) -> Caller: ...

    def backend(self, request: Any | None, caller: Caller) -> LocalBackend: ...


def build_server(resolver: Resolver) -> MCPServer:
    # The SDK configures logging as an application would (logging.basicConfig with a
    # rich handler at INFO, printing a line at start); here it is a library, and the
    # application's own setup (app.py, cli/mcp.py) says where logs go: undo it.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return MCPServer(
            "convoscope",
            title="convoscope analytics",
            version=__version__,
            instructions=INSTRUCTIONS,
            tools=[_tool(spec, resolver) for spec in TOOLS],
            middleware=[_ToolsOfTheCaller(resolver)],
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _tool(spec: ToolSpec, resolver: Resolver) -> Tool:
    """The SDK's tool, advertising ``{request: spec.model}`` as its input schema.

    The function itself takes ``request`` as a plain object and validates it here, so a
    bad argument is told the way the API tells it (``request.notes: must have at most 80
    characters``), not as a pydantic report naming internal classes."""

    async def call(ctx: Context, request: dict[str, Any] | None = None) -> CallToolResult:
        http_request = ctx.request_context.request
        try:
            body = parse_body(spec.model, request)
            caller = resolver.caller(http_request)
            if not spec.any_key:
                require_read(caller)
            payload = await spec.run(resolver.backend(http_request, caller), body)
        except ConvoscopeError as err:
            raise ToolError(tool_error_message(err)) from None
        if spec.lists:
            payload = bound(payload, spec.lists, hint=spec.hint)
        text = orjson.dumps(payload).decode()
        return CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content=payload
        )

    tool = Tool.from_function(
        call,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        annotations=_annotations(spec),
    )
    tool.parameters = _input_schema(spec)
    return tool


def _input_schema(spec: ToolSpec) -> dict[str, Any]:
    """``{request: <the model>}``, optional when the model needs no field."""
    try:
        spec.model()
        request: Any = (spec.model, None)
    except ValueError:
        request = (spec.model, ...)
    arguments = create_model(f"{spec.model.__name__}Arguments", request=request)
    return arguments.model_json_schema(by_alias=True)


def _annotations(spec: ToolSpec) -> ToolAnnotations:
    if spec.read_only:
        return ToolAnnotations(title=spec.title, read_only_hint=True, open_world_hint=False)
    return ToolAnnotations(
        title=spec.title,
        read_only_hint=False,
        destructive_hint=spec.destructive,
        open_world_hint=False,
    )


class _ToolsOfTheCaller:
    """A write-only key (web, Slack, …) sees only the tools it may call."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._any_key = {spec.name for spec in TOOLS if spec.any_key}

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method == "tools/list" and isinstance(result, dict):
            if self._resolver.caller(ctx.request).is_write_only:
                result["tools"] = [t for t in result["tools"] if t.get("name") in self._any_key]
        return result


def tool_error_message(err: ConvoscopeError) -> str:
    """The problem as the API would state it, with the field's path from the tool's
    argument (``request.where.and[0]…``), so the agent can correct its call."""
    detail = err.detail
    if err.field and not err.field.startswith("request"):
        if detail.startswith(f"{err.field}:"):
            return f"request.{detail}"
        return f"request.{err.field}: {detail}"
    if err.field:
        return detail
    return f"{err.title}: {detail}"
