"""An export holds one of the database's readers while it streams, and its connection
goes back the moment the client leaves, not whenever garbage is collected."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import orjson
from sqlalchemy import Engine

from convoscope.app import create_app
from convoscope.settings import Settings
from convoscope.store import Database
from tests.conftest import make_project


async def _readers_idle(db: Database) -> None:
    while db.readers_busy:
        await asyncio.sleep(0.01)


def _checked_out(db: Database) -> int:
    return int(db.engine.pool.checkedout())  # type: ignore[attr-defined]


async def test_a_client_that_leaves_gives_the_export_connection_back(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings)
    project = make_project(engine, "leaving")
    async with app.router.lifespan_context(app):
        db: Database = app.state.db
        await asyncio.wait_for(_readers_idle(db), 30)  # the statistics job reads at start
        before = _checked_out(db)
        started = asyncio.Event()
        leave = asyncio.Event()
        sent: list[MutableMapping[str, Any]] = []
        body = orjson.dumps({})
        requests = iter([{"type": "http.request", "body": body, "more_body": False}])

        async def receive() -> dict[str, Any]:
            message = next(requests, None)
            if message is not None:
                return message
            await leave.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.start":
                started.set()
                await asyncio.Event().wait()  # a client that reads nothing more

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/query/conversations/export",
            "raw_path": b"/query/conversations/export",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"convoscope"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"authorization", f"Bearer {project.api_key}".encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("convoscope", 80),
            "state": {},
        }
        call = asyncio.create_task(app(scope, receive, send))
        await asyncio.wait_for(started.wait(), 30)
        assert sent[0]["status"] == 200
        assert db.readers_busy == 1, "the export counts as a reader while it streams"
        leave.set()
        await asyncio.wait_for(call, 30)
        assert db.readers_busy == 0
        assert _checked_out(db) <= before, "the export's connection is back in the pool"
