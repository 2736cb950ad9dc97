"""``convoscope serve`` as users start it, in a child process, for the end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    database_url: str, port: int, *args: str, **settings: str
) -> subprocess.Popen[str]:
    """Start the server; ``args`` go to ``serve``, ``settings`` are extra CONVOSCOPE_*
    variables (e.g. PORT=…)."""
    env = {
        **os.environ,
        "CONVOSCOPE_DATABASE_URL": database_url,
        "CONVOSCOPE_PORT": str(port),
        **{f"CONVOSCOPE_{name}": value for name, value in settings.items()},
    }
    return subprocess.Popen(
        [sys.executable, "-m", "convoscope.cli", "serve", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


async def wait_until_healthy(client: httpx.AsyncClient, *, seconds: float = 90) -> None:
    # It polls, so a generous limit costs nothing when the server is quick; under a loaded
    # machine (or a second test worker) a start can take longer than half a minute.
    deadline = time.monotonic() + seconds
    while True:
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        await asyncio.sleep(0.05)
