"""The analyzer's child process never outlives the server, and a stop takes seconds.

After ``kill -9`` of the server its child (and the resource tracker waiting on it) stayed
running with 450-610 MB; and a graceful stop waited 47 s for a category fit to finish.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
from sqlalchemy import Engine, select

from convoscope.annotate import AnnotationWorker, SubprocessRunner, WorkerSettings
from convoscope.store import ConversationIn, Database, MessageIn
from convoscope.store import conversations as conversation_store
from convoscope.store.tables import semantic_threads
from tests.annotate.slow_analyzer import make_slow_analyzer
from tests.conftest import ProjectKeys

ROOT = Path(__file__).resolve().parents[2]

PARENT = textwrap.dedent(
    """
    import asyncio, sys, time
    from convoscope.annotate.runner import SubprocessRunner
    from tests.annotate.slow_analyzer import make_slow_analyzer

    if __name__ == "__main__":
        runner = SubprocessRunner(make_slow_analyzer)
        print(asyncio.run(runner.pid()), flush=True)
        time.sleep(120)
    """
)


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if psutil.pid_exists(p) and _not_zombie(p)]
        time.sleep(0.1)
    return alive


def _not_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_child_and_its_helpers_die_with_a_killed_parent(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    ) as parent:
        try:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            descendants = [p.pid for p in psutil.Process(parent.pid).children(recursive=True)]
            assert child in descendants
            parent.send_signal(signal.SIGKILL)
            parent.wait(10)
            assert wait_gone(descendants, 10) == [], "children outlived their parent"
        finally:
            if parent.poll() is None:
                parent.kill()
                parent.wait(10)


async def test_a_stop_during_a_long_analysis_ends_in_seconds_and_leaves_the_work_queued(
    db: Database, project: ProjectKeys, engine: Engine
) -> None:
    messages = [
        MessageIn(role="user", content="How do I rotate a key?"),
        MessageIn(role="assistant", content="In Settings."),
    ]
    data = ConversationIn(type="openai", messages=messages, id="c1")
    await db.write(lambda conn: conversation_store.upsert_conversation(conn, project.scope, data))
    runner = SubprocessRunner(make_slow_analyzer)
    child = await runner.pid()
    worker = AnnotationWorker(db, runner, WorkerSettings(batch_size=10, poll_seconds=0.1))
    worker.start()
    deadline = time.monotonic() + 20
    while _status(engine) != "claimed" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert _status(engine) == "claimed"
    await asyncio.sleep(0.5)  # the child is now inside its minute-long call
    started = time.monotonic()
    await worker.stop()
    assert time.monotonic() - started < 8
    assert wait_gone([child], 5) == []
    assert _status(engine) == "claimed", "the thread waits for its lease, still to be done"


def _status(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(semantic_threads.c.annotation_status)).scalar_one())
