"""A server started as users start it annotates what it is sent, in the background, in a
child process: no command to run, nothing to wait on but the worker's poll."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import httpx

from convoscope.store import make_engine
from convoscope.store.migrate import upgrade
from tests.conftest import make_project
from tests.e2e.server import free_port, start_server, wait_until_healthy


async def test_the_server_annotates_logged_conversations_by_itself(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'annotated.db'}"
    engine = make_engine(url)
    upgrade(engine)
    keys = make_project(engine, "acme")
    engine.dispose()
    port = free_port()
    server = start_server(url, port, ANNOTATION_POLL_SECONDS="0.2")
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {keys.api_key}"},
            timeout=10,
        ) as client:
            await wait_until_healthy(client)
            body = {
                "type": "openai",
                "messages": [
                    {"role": "user", "content": "Is there a dark mode?"},
                    {"role": "assistant", "content": "Dark mode is not supported yet."},
                ],
            }
            assert (await client.post("/conversations", json=body)).status_code == 200
            deadline = time.monotonic() + 90
            while True:
                rows = (await client.post("/query/semantic-threads", json={})).json()
                row = rows["data"]["result"][0]
                if row["isFeatureSupported"] is not None:
                    break
                assert time.monotonic() < deadline, "the thread was not annotated in time"
                await asyncio.sleep(0.5)
        assert row["isFeatureSupported"] is False
        assert row["languages"] == ["en"]
        assert row["subject"]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, errors = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            _, errors = server.communicate()
    # uvicorn re-raises SIGTERM once it has shut down cleanly, hence -SIGTERM.
    assert server.returncode in (0, -signal.SIGTERM), errors
    assert "Application shutdown complete" in errors
