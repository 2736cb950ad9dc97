"""The servers under test, each in its own process under the same uvicorn options.

Run as ``python -m bench.servers KIND --port N`` (the benchmark does this itself):

* ``convoscope``: ``create_app`` with the settings from the ``CONVOSCOPE_*`` variables,
  the database already migrated (as ``convoscope serve`` does);
* ``parse_only`` and ``sqlite_commit``: the baselines of ``bench.baselines``;
* ``fastapi_floor``: the FastAPI reference of ``bench.fastapi_floor``.

A server in its own process has its own GIL: the load generator never steals its time
slices, and its CPU time can be read from outside.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bench import baselines

KINDS = ("convoscope", "parse_only", "sqlite_commit", "fastapi_floor")
ROOT = Path(__file__).resolve().parent.parent

# Identical for every server, so the only difference between them is the application.
# One process (no --workers), uvloop and httptools (uvicorn[standard]), no access log.
UVICORN_OPTIONS: dict[str, Any] = {
    "host": "127.0.0.1",
    "loop": "uvloop",
    "http": "httptools",
    "lifespan": "on",
    "access_log": False,
    "log_level": "warning",
}


def _app(kind: str, sqlite_path: Path | None) -> Any:
    if kind == "convoscope":
        from convoscope.app import create_app
        from convoscope.settings import load_settings

        return create_app(load_settings(), migrate=False)
    if kind == "parse_only":
        return baselines.parse_only_app()
    if kind == "fastapi_floor":
        from bench.fastapi_floor import fastapi_floor_app

        return fastapi_floor_app()
    if sqlite_path is None:
        raise SystemExit("sqlite_commit needs --sqlite-path")
    return baselines.sqlite_commit_app(sqlite_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sqlite-path", type=Path)
    args = parser.parse_args()
    uvicorn.run(_app(args.kind, args.sqlite_path), port=args.port, **UVICORN_OPTIONS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """One server subprocess: started, probed until ready, stopped gracefully."""

    def __init__(
        self,
        kind: str,
        *,
        log_path: Path,
        env: dict[str, str] | None = None,
        sqlite_path: Path | None = None,
        ready_path: str = "/",
    ) -> None:
        self.kind = kind
        self.port = free_port()
        self.sqlite_path = sqlite_path
        self._log_path = log_path
        self._ready_path = ready_path
        command = [sys.executable, "-m", "bench.servers", kind, "--port", str(self.port)]
        if sqlite_path is not None:
            command += ["--sqlite-path", str(sqlite_path)]
        self._command = command
        self._env = {**os.environ, **(env or {})}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self, timeout_s: float = 60.0) -> None:
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self._command,
                cwd=ROOT,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        url = f"http://127.0.0.1:{self.port}{self._ready_path}"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited at start:\n{self.log_tail()}")
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.kind} server not ready after {timeout_s} s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGINT (uvicorn's graceful shutdown: convoscope drains its writer), then kill."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self._log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def prepare_database(url: str) -> str:
    """Migrate the database and create a project with an api key; return the key."""
    # Imported here: this module is also the baselines' server process, which must not
    # load convoscope.
    from convoscope.auth import KeyType, display_prefix, generate_key, hash_key
    from convoscope.store import keys as key_store
    from convoscope.store import make_engine
    from convoscope.store.migrate import upgrade

    engine = make_engine(url, pool_size=1)
    try:
        upgrade(engine)
        key = generate_key()
        with engine.begin() as conn:
            project = key_store.create_project(conn, "bench")
            key_store.create_key(
                conn, project, KeyType.API.value, hash_key(key), display_prefix(key)
            )
        return key
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
