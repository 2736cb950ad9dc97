"""A 2xx means committed: every conversation the server acknowledged is still there after
the server process is killed without warning in the middle of a stream of writes from
16 clients, on both engines. The database is consistent afterwards (SQLite's integrity
check; on PostgreSQL the stored counts agree with the rows), and nothing the server
started (the annotation child, its resource tracker) outlives it.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess

import httpx
import psutil
from sqlalchemy import Connection, Engine, func, select, text

from convoscope.store.tables import conversations, messages, semantic_threads
from tests.annotate.test_child_lifetime import wait_gone
from tests.builders import openai_conversation
from tests.conftest import make_project
from tests.e2e.server import free_port, start_server, wait_until_healthy

CLIENTS, ACKNOWLEDGED_BEFORE_KILL = 16, 300


async def test_acknowledged_writes_survive_a_kill_and_leave_a_consistent_database(
    dialect: str, database_url: str, engine: Engine
) -> None:
    keys = make_project(engine, "acme")
    port = free_port()
    # The annotation worker runs, so there is an analyzer child to outlive the server.
    server = start_server(database_url, port, ANNOTATION_POLL_SECONDS="0.2")
    acknowledged: list[str] = []
    family: list[int] = []
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {keys.api_key}"},
            timeout=30,
        ) as client:
            await wait_until_healthy(client, seconds=90)

            async def writer(worker: int) -> None:
                for i in range(2_000):
                    body = openai_conversation(f"w{worker}-{i}", turns=2)
                    try:
                        response = await client.post("/conversations", json=body)
                    except httpx.TransportError:
                        return
                    if response.status_code == 200:
                        acknowledged.append(body["id"])

            async def killer() -> None:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 90
                while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL or not _children(server):
                    assert loop.time() < deadline, "no analyzer child or too few writes"
                    await asyncio.sleep(0.01)
                family.extend(_children(server))
                server.send_signal(signal.SIGKILL)

            await asyncio.gather(killer(), *(writer(w) for w in range(CLIENTS)))
    finally:
        server.kill()
        server.communicate()
    assert wait_gone(family, 20) == [], "processes outlived the killed server"
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL

    # Restarted, the server finds every acknowledged conversation.
    restarted = start_server(database_url, port, ANNOTATION_WORKER="false")
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {keys.api_key}"},
            timeout=30,
        ) as client:
            await wait_until_healthy(client, seconds=90)
            total = (await client.get("/conversations", params={"limit": 1})).json()["total"]
            last = await client.get(f"/conversations/{acknowledged[-1]}")
            assert last.status_code == 200
    finally:
        restarted.terminate()
        try:
            restarted.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            restarted.kill()
            restarted.communicate()

    with engine.connect() as conn:
        stored = set(conn.execute(select(conversations.c.id)).scalars())
        assert set(acknowledged) <= stored
        assert total == len(stored)
        if dialect == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert _inconsistent_counts(conn) == []


def _children(server: subprocess.Popen[str]) -> list[int]:
    try:
        return [p.pid for p in psutil.Process(server.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _inconsistent_counts(conn: Connection) -> list[tuple[object, ...]]:
    """Conversations whose stored counts disagree with their rows: messages (each of the
    two turns is a question and an answer), user messages and semantic threads."""
    message_counts = (
        select(
            messages.c.conversation_id.label("id"),
            func.count().label("n"),
            func.sum(text("CASE WHEN role = 'user' THEN 1 ELSE 0 END")).label("users"),
        )
        .group_by(messages.c.conversation_id)
        .subquery()
    )
    thread_counts = (
        select(semantic_threads.c.conversation_id.label("id"), func.count().label("n"))
        .group_by(semantic_threads.c.conversation_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            conversations.c.id,
            conversations.c.message_count,
            conversations.c.user_message_count,
            message_counts.c.n,
            message_counts.c.users,
            thread_counts.c.n,
        )
        .outerjoin(message_counts, message_counts.c.id == conversations.c.id)
        .outerjoin(thread_counts, thread_counts.c.id == conversations.c.id)
    ).all()
    orphans = conn.execute(
        select(func.count())
        .select_from(semantic_threads)
        .where(~semantic_threads.c.conversation_id.in_(select(conversations.c.id)))
    ).scalar_one()
    wrong: list[tuple[object, ...]] = [
        tuple(r) for r in rows if (r[1], r[2], r[3], r[4], r[5]) != (4, 2, 4, 2, 2)
    ]
    if orphans:
        wrong.append(("threads without a conversation", orphans))
    return wrong
