"""``convoscope mcp``: the MCP server over stdio, for Claude, Cursor and other clients
that start their servers as commands."""

from __future__ import annotations

import logging
from typing import Annotated

import anyio
import typer

from convoscope.cli.context import fail, settings_or_exit
from convoscope.errors import ConvoscopeError


def mcp(
    project: Annotated[
        str | None,
        typer.Option(help="Project name or id, on the local database (CONVOSCOPE_DATABASE_URL)."),
    ] = None,
    server_url: Annotated[
        str | None,
        typer.Option(help="A convoscope server to ask instead, e.g. http://localhost:8000."),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="CONVOSCOPE_API_KEY", help="The key for --server-url; its project is served."
        ),
    ] = None,
) -> None:
    """Serve the analytics tools over MCP on stdin/stdout."""
    from convoscope.mcp import serve_local, serve_remote

    if server_url is not None:
        if project is not None:
            raise fail(
                "--project is for the local database; with --server-url the key's project is served"
            )
        if not api_key:
            raise fail("--server-url needs --api-key (or CONVOSCOPE_API_KEY)")
        _log_to_stderr("WARNING")
        try:
            anyio.run(serve_remote, server_url, api_key)
        except Exception as problem:  # the server unreachable, refusing the key, ...
            raise fail(f"{server_url}: {_first_cause(problem)}") from None
        return
    if project is None:
        raise fail("give --project (local database) or --server-url with --api-key")
    settings = settings_or_exit()
    _log_to_stderr(settings.log_level.upper())
    try:
        anyio.run(serve_local, settings, project)
    except ConvoscopeError as problem:
        raise fail(problem.detail) from None


def _log_to_stderr(level: str) -> None:
    # stdout carries the protocol: a stray line there breaks the client's session.
    logging.basicConfig(level=level, format="%(levelname)s %(name)s %(message)s")


def _first_cause(problem: BaseException) -> str:
    """The first error inside task-group wrappers, as one line."""
    while isinstance(problem, BaseExceptionGroup) and problem.exceptions:
        problem = problem.exceptions[0]
    return str(problem) or type(problem).__name__
