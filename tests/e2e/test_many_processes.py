"""Several server processes on one PostgreSQL: no state that only one of them may hold."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psutil
import pytest
from sqlalchemy import Engine, text

from tests.conftest import make_project
from tests.e2e.server import free_port, start_server, wait_until_healthy


def _lease_holders(engine: Engine) -> dict[str, int]:
    """Job name -> pid of the server process holding its lease."""
    with engine.connect() as conn:
        names = conn.execute(
            text(
                "SELECT a.application_name FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted "
                "AND a.application_name LIKE 'convoscope % pid=%'"
            )
        ).scalars()
        holders: dict[str, int] = {}
        for name in names:
            job, pid = name.removeprefix("convoscope ").split(" pid=")
            assert job not in holders, f"two processes hold the {job} lease"
            holders[job] = int(pid)
        return holders


def _wait_for(condition: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@contextmanager
def _serving(database_url: str, *args: str, **settings: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    server = start_server(database_url, port, *args, **settings)
    try:
        yield f"http://127.0.0.1:{port}", server.pid
    finally:
        family = psutil.Process(server.pid).children(recursive=True)
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
        _, alive = psutil.wait_procs(family, timeout=10)
        assert alive == [], f"processes left behind: {alive}"


def _healthy(url: str) -> None:
    import asyncio

    async def check() -> None:
        async with httpx.AsyncClient(base_url=url) as client:
            await wait_until_healthy(client)

    asyncio.run(check())


def test_serve_refuses_more_than_one_process_on_sqlite(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "convoscope.cli", "serve", "--workers", "2"],
        env={**os.environ, "CONVOSCOPE_DATABASE_URL": f"sqlite:///{tmp_path}/one.db"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--workers above 1 needs PostgreSQL" in result.stderr


@pytest.mark.postgres_only
def test_workers_share_the_load_and_each_job_runs_in_one_and_moves_when_it_dies(
    database_url: str, engine: Engine
) -> None:
    keys = make_project(engine, "acme")
    with _serving(database_url, "--workers", "2", LEASE_POLL_SECONDS="0.2") as (url, pid):
        _healthy(url)
        # uvicorn's worker processes, beside multiprocessing's resource tracker.
        workers = [
            child
            for child in psutil.Process(pid).children()
            if "spawn_main" in " ".join(child.cmdline())
        ]
        assert len(workers) == 2
        _wait_for(
            lambda: (
                set(_lease_holders(engine)) == {"annotation", "indexing", "retention", "statistics"}
            )
        )
        holders = _lease_holders(engine)
        assert set(holders.values()) <= {w.pid for w in workers}
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys.api_key}"}) as c:
            for i in range(20):  # spread over both processes by the kernel
                body = {
                    "id": f"c{i}",
                    "type": "openai",
                    "messages": [{"role": "user", "content": "hi"}],
                }
                assert c.post("/conversations", json=body).status_code == 200
            assert c.get("/conversations").json()["total"] == 20

        os.kill(holders["annotation"], signal.SIGKILL)
        _wait_for(
            lambda: _lease_holders(engine).get("annotation") not in (None, holders["annotation"])
        )


@pytest.mark.postgres_only
def test_a_key_revoked_through_one_process_is_refused_by_all_within_the_cache_time(
    database_url: str, engine: Engine
) -> None:
    keys = make_project(engine, "acme")
    cache = "1"
    with (
        _serving(database_url, KEY_CACHE_SECONDS=cache, ANNOTATION_WORKER="false") as (one, _),
        _serving(database_url, KEY_CACHE_SECONDS=cache, ANNOTATION_WORKER="false") as (two, _),
    ):
        _healthy(one)
        _healthy(two)
        auth = {"Authorization": f"Bearer {keys.api_key}"}
        for url in (one, two):
            assert httpx.get(f"{url}/conversations", headers=auth).status_code == 200
        with engine.begin() as conn:
            conn.execute(text("UPDATE api_keys SET revoked_at = now()"))
        time.sleep(float(cache) + 0.5)
        for url in (one, two):
            assert httpx.get(f"{url}/conversations", headers=auth).status_code == 401
