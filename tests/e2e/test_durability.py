"""A 2xx means committed: every conversation the server acknowledged is still there after
the server process is killed without warning in the middle of a stream of writes."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
from sqlalchemy import select

from convoscope.store.engine import make_engine
from convoscope.store.migrate import upgrade
from convoscope.store.tables import conversations, messages
from tests.builders import openai_conversation
from tests.conftest import make_project
from tests.e2e.server import free_port, start_server, wait_until_healthy


async def test_acknowledged_writes_survive_a_kill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    engine = make_engine(url)
    upgrade(engine)
    keys = make_project(engine, "acme")
    port = free_port()
    server = start_server(url, port, ANNOTATION_WORKER="false")
    acknowledged: list[str] = []
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {keys.api_key}"}, timeout=10
        ) as client:
            await wait_until_healthy(client)

            async def writer(worker: int) -> None:
                for i in range(1_000):
                    body = openai_conversation(f"w{worker}-{i}", turns=2)
                    try:
                        response = await client.post("/conversations", json=body)
                    except httpx.TransportError:
                        return
                    if response.status_code == 200:
                        acknowledged.append(body["id"])

            async def killer() -> None:
                while len(acknowledged) < 300:
                    await asyncio.sleep(0.005)
                server.send_signal(signal.SIGKILL)

            await asyncio.gather(killer(), *(writer(w) for w in range(8)))
    finally:
        server.kill()
        server.communicate()
    assert len(acknowledged) >= 300
    engine.dispose()
    engine = make_engine(url)
    with engine.connect() as conn:
        stored = set(conn.execute(select(conversations.c.id)).scalars())
        message_count = conn.execute(select(messages.c.id)).all()
    engine.dispose()
    assert set(acknowledged) <= stored
    assert len(message_count) == 4 * len(stored), "no conversation was stored half-written"
