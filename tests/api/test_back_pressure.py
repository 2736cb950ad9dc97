"""Overload and a stopped writer get a prompt 503, never a write that hangs or is lost.

A write the queue has no room for is refused at once with ``Retry-After`` (the SDK backs
off and retries a 503), and every write that was answered 2xx is stored. Requests with a
body are let in only up to the same bound: past it they are refused before their body
is parsed, so a crowd of clients cannot fill the server's memory ahead of the queue.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection

from convoscope.app import create_app
from convoscope.settings import Settings
from tests.api.test_errors import assert_problem
from tests.builders import openai_conversation
from tests.conftest import ProjectKeys


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings.model_copy(update={"write_queue_limit": 2}))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def http(app: FastAPI, project: ProjectKeys) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://convoscope",
        headers={"Authorization": f"Bearer {project.api_key}"},
    ) as client:
        yield client


async def test_writes_past_the_queue_limit_get_503_with_retry_after(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    writer = app.state.db.writer
    # Every writer thread (two on PostgreSQL) held, so that the next writes queue.
    running, gate = threading.Semaphore(0), threading.Event()

    def hold(conn: Connection) -> None:
        running.release()
        gate.wait(10)

    holds = []
    for _ in range(writer.connections):  # one at a time, or one batch would take them all
        holds.append(asyncio.ensure_future(writer.run(hold)))
        assert await asyncio.to_thread(running.acquire, True, 10)
    held = asyncio.gather(*holds)
    sent = [
        asyncio.ensure_future(http.post("/conversations", json=openai_conversation(f"c{i}")))
        for i in range(8)
    ]
    # Two fit in the queue and wait for the writer; the other six are answered at once.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while sum(task.done() for task in sent) < 6 and loop.time() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    refused = [task.result() for task in sent if task.done()]
    assert len(refused) == 6
    for response in refused:
        assert assert_problem(response, 503)["code"] == "service_unavailable"
        assert response.headers["retry-after"] == "1"
    gate.set()
    await asyncio.wait_for(held, 10)
    answers = await asyncio.gather(*sent)
    assert sorted(r.status_code for r in answers) == [200, 200] + [503] * 6
    for i, answer in enumerate(answers):
        stored = await http.get(f"/conversations/c{i}")
        assert stored.status_code == (200 if answer.status_code == 200 else 404)


async def test_a_stopped_writer_answers_503_at_once(app: FastAPI, http: httpx.AsyncClient) -> None:
    app.state.db.writer.stop()
    response = await asyncio.wait_for(
        http.post("/conversations", json=openai_conversation("c1")), timeout=5
    )
    problem = assert_problem(response, 503)
    assert problem["detail"] == "the server is not accepting writes: it has stopped"
    assert (await http.get("/conversations/c1")).status_code == 404


async def test_past_the_limit_a_request_is_refused_before_its_body_is_parsed(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    writer = app.state.db.writer
    # Every writer thread (two on PostgreSQL) held, so that the next writes queue.
    running, gate = threading.Semaphore(0), threading.Event()

    def hold(conn: Connection) -> None:
        running.release()
        gate.wait(10)

    holds = []
    for _ in range(writer.connections):  # one at a time, or one batch would take them all
        holds.append(asyncio.ensure_future(writer.run(hold)))
        assert await asyncio.to_thread(running.acquire, True, 10)
    held = asyncio.gather(*holds)
    waiting = [
        asyncio.ensure_future(http.post("/conversations", json=openai_conversation(f"c{i}")))
        for i in range(2)
    ]
    await asyncio.sleep(0.3)  # both are in, waiting for the writer
    broken = await http.post(
        "/conversations", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert assert_problem(broken, 503)["code"] == "service_unavailable", "it was parsed"
    assert broken.headers["retry-after"] == "1"
    # Reads carry no body and wait for no writer: they are answered as ever.
    assert (await http.get("/conversations")).status_code == 200
    gate.set()
    await asyncio.wait_for(held, 10)
    assert [r.status_code for r in await asyncio.gather(*waiting)] == [200, 200]
