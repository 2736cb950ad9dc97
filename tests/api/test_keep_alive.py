"""An error answer leaves the keep-alive connection usable for the next request.

An exception that escaped the app used to reach uvicorn after the 500 was sent, and
uvicorn then closed the connection: the client's next request on it failed with a read
error (6 times in 10).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from convoscope.app import create_app
from convoscope.settings import Settings


class Explosion(RuntimeError):
    pass


@pytest.fixture
def server_url(settings: Settings) -> Iterator[str]:
    app = create_app(settings)

    async def explode() -> None:
        raise Explosion("a fault nobody expected")

    app.add_api_route("/explode", explode)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def test_a_500_keeps_the_connection_open_for_the_next_request(server_url: str) -> None:
    opened: list[object] = []

    def count_connections(event: str, info: dict[str, object]) -> None:
        if event == "connection.connect_tcp.complete":
            opened.append(info["return_value"])

    with httpx.Client(base_url=server_url, timeout=10) as client:
        for _ in range(20):
            failed = client.get("/explode", extensions={"trace": count_connections})
            assert failed.status_code == 500
            assert failed.headers["content-type"] == "application/problem+json"
            assert failed.json()["code"] == "internal_server_error"
            assert "Explosion" not in failed.text
            after = client.get("/healthz", extensions={"trace": count_connections})
            assert after.status_code == 200
    assert len(opened) == 1, "every request should have reused the first connection"
