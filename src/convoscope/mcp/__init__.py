"""The MCP server: the analytics questions as tools, for agents (Claude, Cursor, any MCP
client), over streamable HTTP at ``/mcp`` and over stdio (``convoscope mcp``).

A face like ``api/``: it parses, authorizes and calls the same parts the HTTP routes call
(the query engine, the store's repositories, the dashboard's reports); it adds no SQL.

The names of ``__all__`` load their module on first use (``convoscope.lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convoscope.lazy import lazy_exports

if TYPE_CHECKING:
    from convoscope.mcp.http import PATH, McpEndpoint
    from convoscope.mcp.stdio import serve_local, serve_remote

__all__ = [
    "McpEndpoint",
    "PATH",
    "serve_local",
    "serve_remote",
]

if not TYPE_CHECKING:
    __getattr__ = lazy_exports(
        __name__,
        {
            "http": ("PATH", "McpEndpoint"),
            "stdio": ("serve_local", "serve_remote"),
        },
    )
