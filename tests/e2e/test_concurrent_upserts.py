"""Many clients re-logging the same conversations at once, against real server processes
(two of them on PostgreSQL, each with its own writer, so the upserts race in the
database itself): every answer is a 200, and each id is one row holding exactly one of
the bodies acknowledged for it: no message lost, doubled or taken from another body.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from convoscope.store.tables import conversations, messages
from tests.conftest import make_project
from tests.e2e.server import free_port, start_server, wait_until_healthy

IDS = [f"c{i}" for i in range(30)]
CLIENTS, REQUESTS_EACH = 16, 15


@contextmanager
def serving(database_url: str, logs: list[str]) -> Iterator[str]:
    port = free_port()
    server = start_server(database_url, port, ANNOTATION_WORKER="false")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            logs.append(server.communicate(timeout=30)[1])
        except subprocess.TimeoutExpired:
            server.kill()
            logs.append(server.communicate()[1])


def body(conversation_id: str, writer: str, turns: int) -> dict[str, Any]:
    contents = [f"{writer} {role} {t}" for t in range(turns) for role in ("question", "answer")]
    return {
        "id": conversation_id,
        "type": "openai",
        "properties": {"writer": writer},
        "messages": [
            {"role": "user" if i % 2 == 0 else "assistant", "content": text}
            for i, text in enumerate(contents)
        ],
    }


async def test_concurrent_upserts_of_the_same_ids_leave_one_whole_body_each(
    dialect: str, database_url: str, engine: Engine
) -> None:
    keys = make_project(engine, "acme")
    processes = 2 if dialect == "postgresql" else 1  # SQLite allows one server process
    acknowledged: dict[str, set[str]] = defaultdict(set)
    statuses: list[int] = []
    logs: list[str] = []
    async with AsyncExitStack() as stack:
        urls = [stack.enter_context(serving(database_url, logs)) for _ in range(processes)]
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=url,
                    headers={"Authorization": f"Bearer {keys.api_key}"},
                    timeout=30,
                )
            )
            for url in urls
        ]
        for client in clients:
            await wait_until_healthy(client, seconds=90)

        async def upserts(worker: int) -> None:
            rng = random.Random(worker)
            client = clients[worker % len(clients)]
            for seq in range(REQUESTS_EACH):
                writer = f"w{worker}-{seq}"
                sent = body(rng.choice(IDS[:10] if seq % 2 else IDS), writer, rng.randint(1, 3))
                response = await client.post("/conversations", json=sent)
                statuses.append(response.status_code)
                if response.status_code == 200:
                    acknowledged[sent["id"]].add(writer)

        await asyncio.gather(*(upserts(w) for w in range(CLIENTS)))
    assert set(statuses) == {200}, (sorted(set(statuses)), "".join(logs)[-4000:])

    with engine.connect() as conn:
        rows = conn.execute(
            select(conversations.c.id, conversations.c.properties, conversations.c.message_count)
        ).all()
        stored: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        for m in conn.execute(
            select(messages.c.conversation_id, messages.c.position, messages.c.role,
                   messages.c.content).order_by(messages.c.conversation_id, messages.c.position)
        ):  # fmt: skip
            stored[m.conversation_id].append((m.position, m.role, m.content))
        total_messages = conn.execute(select(func.count()).select_from(messages)).scalar_one()
    assert sorted(r.id for r in rows) == sorted(acknowledged)
    assert sum(len(v) for v in stored.values()) == total_messages
    for row in rows:
        writer = row.properties["writer"]
        assert writer in acknowledged[row.id], f"{row.id} holds a body never acknowledged"
        turns = row.message_count // 2
        want = body(row.id, writer, turns)["messages"]
        assert [(p, r, c) for p, r, c in stored[row.id]] == [
            (i, m["role"], m["content"]) for i, m in enumerate(want)
        ], f"{row.id}: messages of more than one body, or some lost"
        assert len(want) == row.message_count
