"""The two bare ASGI endpoints convoscope's ingestion is measured against.

Both serve ``POST /conversations``, ``POST /feedback`` and ``POST /events``, answer any
``GET`` with 200 (the readiness probe), and reply to a POST with a small JSON object:

* ``parse_only`` reads and parses the body with orjson and stores nothing: what the
  server stack itself (uvicorn, httptools, uvloop, one Python process) costs per request.
  It is the ceiling no real endpoint can pass.
* ``sqlite_commit`` inserts the rows the body describes with the standard ``sqlite3``
  module (WAL, ``synchronous=FULL``) and commits once per request: the straightforward
  durable implementation that group commit is meant to beat.

Neither authenticates, validates beyond parsing, or builds the full response convoscope
sends: they are deliberately lower bounds on the work per request.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Handler = Callable[[Any], Any]

_JSON_HEADERS = [(b"content-type", b"application/json")]


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _reply(send: Send, status: int, payload: Any) -> None:
    body = orjson.dumps(payload)
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send, on_shutdown: Callable[[], None]) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


def _asgi(handlers: dict[str, Handler], on_shutdown: Callable[[], None]) -> AsgiApp:
    """A bare ASGI app routing ``POST <path>`` to ``handlers[path](parsed body)``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send, on_shutdown)
            return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _reply(send, 200, {"status": "ok"})
            return
        handler = handlers.get(scope["path"])
        if handler is None:
            await _reply(send, 404, {"error": "not found"})
            return
        try:
            document = orjson.loads(await _read_body(receive))
        except orjson.JSONDecodeError:
            await _reply(send, 400, {"error": "malformed JSON"})
            return
        try:
            result = handler(document)
        except LookupError as err:
            await _reply(send, 422, {"error": str(err)})
            return
        await _reply(send, 200, result)

    return app


def parse_only_app() -> AsgiApp:
    def echo_id(document: Any) -> Any:
        return {"id": document.get("id") if isinstance(document, dict) else None}

    paths = ("/conversations", "/feedback", "/events")
    return _asgi(dict.fromkeys(paths, echo_id), on_shutdown=lambda: None)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    properties TEXT,
    user_properties TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (conversation_id, position)
);
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    message_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    reasons TEXT,
    details TEXT,
    properties TEXT,
    user_properties TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_feedback_message ON feedback (message_id);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    entity_type TEXT NOT NULL,
    type TEXT NOT NULL,
    message_id TEXT,
    conversation_id TEXT,
    search_query TEXT,
    properties TEXT,
    user_properties TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_events_conversation ON events (conversation_id);
CREATE INDEX IF NOT EXISTS ix_events_message ON events (message_id);
"""


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One explicit transaction: the connection is in autocommit mode otherwise."""
    db.execute("BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def sqlite_commit_app(path: Path) -> AsgiApp:
    """Insert each request's rows and commit, on one connection, in the event loop.

    The work runs inline, blocking the loop: with one connection the requests
    serialize on the commit anyway, and this skips the thread handoff a pool would add.
    """
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(_SCHEMA)

    def now() -> str:
        return datetime.now(UTC).isoformat()

    def conversation(doc: dict[str, Any]) -> dict[str, Any]:
        conversation_id = doc.get("id") or uuid.uuid4().hex
        stamp = now()
        with _transaction(db):
            db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    doc["type"],
                    _json(doc.get("properties")),
                    _json(doc.get("userProperties")),
                    stamp,
                    stamp,
                ),
            )
            db.executemany(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        m.get("id") or uuid.uuid4().hex,
                        conversation_id,
                        position,
                        m["role"],
                        _json(m.get("content")),
                        stamp,
                    )
                    for position, m in enumerate(doc["messages"])
                ],
            )
        return {"id": conversation_id}

    def feedback(doc: dict[str, Any]) -> dict[str, Any]:
        # Like convoscope: the rated message must exist, and its conversation is stored.
        found = db.execute(
            "SELECT conversation_id FROM messages WHERE id = ?", (doc["messageId"],)
        ).fetchone()
        if found is None:
            raise LookupError(f"no message {doc['messageId']!r}")
        feedback_id = doc.get("id") or uuid.uuid4().hex
        with _transaction(db):
            db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    feedback_id,
                    doc["type"],
                    doc["messageId"],
                    found[0],
                    _json(doc.get("reasons")),
                    doc.get("details"),
                    _json(doc.get("properties")),
                    _json(doc.get("userProperties")),
                    now(),
                ),
            )
        return {"id": feedback_id}

    def event(doc: dict[str, Any]) -> dict[str, Any]:
        conversation_id = doc.get("conversationId")
        if doc["entityType"] == "message":
            # Like convoscope: a message event records its conversation when known.
            found = db.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (doc["messageId"],)
            ).fetchone()
            conversation_id = found[0] if found else None
        event_id = doc.get("id") or uuid.uuid4().hex
        with _transaction(db):
            db.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event_id,
                    doc["entityType"],
                    doc["type"],
                    doc.get("messageId"),
                    conversation_id,
                    doc.get("searchQuery"),
                    _json(doc.get("properties")),
                    _json(doc.get("userProperties")),
                    now(),
                ),
            )
        return {"id": event_id}

    handlers: dict[str, Handler] = {
        "/conversations": conversation,
        "/feedback": feedback,
        "/events": event,
    }
    return _asgi(handlers, on_shutdown=db.close)


def count_rows(path: Path) -> dict[str, int]:
    """Rows stored by ``sqlite_commit_app`` at ``path``, per table."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return {
            table: int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("conversations", "feedback", "events")
        }
