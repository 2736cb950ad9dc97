"""The background logger: everything logged reaches the server, in batches from one
thread; the caller is never blocked nor raised at; a full queue drops and counts; it
flushes at exit and keeps working in a forked child."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from convoscope.client import BackgroundLogger, Client
from tests.builders import openai_conversation
from tests.client.scripted_server import Answer, scripted_server
from tests.conftest import LiveServer

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_everything_logged_is_sent(live_server: LiveServer) -> None:
    logger = BackgroundLogger(live_server.url, live_server.project.api_key, flush_interval=0.05)
    for i in range(200):
        # a follow-up turn of the same conversation and feedback on it, in one batch
        logger.log_conversation(openai_conversation(f"c{i}"))
        body = openai_conversation(f"c{i}", turns=2)
        body["messages"][1]["id"] = f"m{i}"
        logger.log_conversation(body)
        logger.log_feedback({"type": "positive", "messageId": f"m{i}"})
        logger.log_event({"entityType": "conversation", "type": "seen", "conversationId": f"c{i}"})
    assert logger.flush(timeout=60)
    stats = logger.stats
    assert (stats.failed, stats.dropped, stats.queued) == (0, 0, 0)
    assert logger.shutdown()
    with Client(live_server.url, live_server.project.api_key) as client:
        assert client.list_conversations(limit=1).total == 200
        assert len(client.get_conversation("c7").messages) == 4
        assert client.list_feedback(limit=1).positiveFeedbackCount == 200
        assert client.query_events(
            {"select": [{"type": "aggregation", "aggregation": "count"}]}
        ).result == [{"count": 200}]


def test_a_full_queue_drops_counts_and_never_blocks() -> None:
    # The server takes 2 s per answer: the sender is stuck on its first batch.
    with scripted_server(Answer(200, {}, delay=2.0)) as (url, _):
        logger = BackgroundLogger(url, "k", max_queue=10, batch_size=1, concurrency=1)
        started = time.perf_counter()
        for i in range(1000):
            logger.log_event({"entityType": "search", "type": "search", "searchQuery": str(i)})
        elapsed = time.perf_counter() - started
        stats = logger.stats
        assert elapsed < 0.5, "logging waited for the server"
        assert stats.dropped >= 1000 - 10 - 2
        assert stats.queued <= 10
        logger.log_event({"entityType": "search", "type": "search", "searchQuery": None})
        logger.shutdown(timeout=0.1)
        assert logger.shutdown() is True, "a second shutdown is a no-op"


def test_a_body_the_server_refuses_is_counted_not_raised(live_server: LiveServer) -> None:
    logger = BackgroundLogger(live_server.url, live_server.project.api_key)
    logger.log_feedback({"type": "positive", "messageId": "no-such-message"})
    logger.log_conversation({"type": "openai", "messages": []})
    logger.log_conversation(openai_conversation("ok"))
    assert logger.flush()
    assert (logger.stats.sent, logger.stats.failed) == (1, 2)
    logger.shutdown()


def _run_script(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_what_is_logged_before_exit_is_sent(live_server: LiveServer) -> None:
    done = _run_script(f"""
        from convoscope.client import BackgroundLogger
        logger = BackgroundLogger({live_server.url!r}, {live_server.project.api_key!r},
                                  flush_interval=30)
        for i in range(50):
            logger.log_conversation({{"id": f"exit{{i}}", "type": "openai",
                                      "messages": [{{"role": "user", "content": "hi"}}]}})
    """)
    assert done.returncode == 0, done.stderr
    with Client(live_server.url, live_server.project.api_key) as client:
        assert client.list_conversations(limit=1).total == 50


def test_a_forked_child_logs_on_its_own(live_server: LiveServer) -> None:
    done = _run_script(f"""
        import os, sys
        from convoscope.client import BackgroundLogger
        logger = BackgroundLogger({live_server.url!r}, {live_server.project.api_key!r})
        def log(name):
            logger.log_conversation({{"id": name, "type": "openai",
                                      "messages": [{{"role": "user", "content": "hi"}}]}})
        log("parent-before")
        assert logger.flush()
        pid = os.fork()
        if pid == 0:
            log("child")
            os._exit(0 if logger.flush() and logger.stats.sent == 1 else 3)
        log("parent-after")
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
    """)
    assert done.returncode == 0, done.stderr
    with Client(live_server.url, live_server.project.api_key) as client:
        stored = client.query_conversations({"select": [{"type": "field", "field": "id"}]})
    assert sorted(row["id"] for row in stored.result) == ["child", "parent-after", "parent-before"]


def test_loggers_on_many_threads(live_server: LiveServer) -> None:
    logger = BackgroundLogger(live_server.url, live_server.project.api_key, flush_interval=0.05)

    def work(worker: int) -> None:
        for i in range(50):
            logger.log_conversation(openai_conversation(f"t{worker}-{i}"))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert logger.shutdown(timeout=60)
    assert (logger.stats.sent, logger.stats.dropped) == (200, 0)
