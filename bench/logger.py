"""Benchmark of the SDK's ``BackgroundLogger``: its cost in the caller's thread, and the
conversations a second it sustains against a local server.

Starts ``convoscope`` on a fresh SQLite database in a process of its own, then:

* **caller's cost**: ``--count`` calls of ``logger.log_conversation(body)``, each timed,
  while the sender runs; beside it, in the same run, ``queue.Queue.put_nowait`` of the
  same items (the least that handing a body to another thread costs);
* **throughput**: ``--count`` conversations logged at once, then ``flush()``: logged
  conversations a second until all are stored; beside it the same number posted by
  ``concurrency`` threads each with its own synchronous ``Client`` (the logger's own
  concurrency), in the same run against the same server.

Prints one JSON object.

    python bench/logger.py --count 5000
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import ServerProcess, prepare_database  # noqa: E402
from convoscope.client import BackgroundLogger, Client  # noqa: E402

ANSWER = "Open Settings, then API keys, and click Rotate next to the key. " * 3


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def body(prefix: str, n: int) -> dict[str, Any]:
    """A chat of 4 messages, as the OpenAI drop-in logs one after its second answer."""
    return {
        "id": f"{prefix}_{n}",
        "type": "openai",
        "userProperties": {"id": f"u_{n % 100}"},
        "messages": [
            {"role": "user", "content": f"How do I rotate the key of project {n}?"},
            {"role": "assistant", "content": ANSWER, "properties": {"model": "gpt-4o-mini"}},
            {"role": "user", "content": "And the old key?"},
            {"role": "assistant", "content": "It stops working at once."},
        ],
    }


def percentiles(values_ns: list[int]) -> dict[str, float]:
    ordered = sorted(values_ns)
    return {
        "p50_us": round(statistics.median(ordered) / 1000, 2),
        "p99_us": round(ordered[int(len(ordered) * 0.99)] / 1000, 2),
        "mean_us": round(sum(ordered) / len(ordered) / 1000, 2),
    }


def caller_cost(base_url: str, key: str, count: int) -> dict[str, Any]:
    bodies = [body("cost", n) for n in range(count)]
    floor: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue(count)
    floor_ns = []
    for item in bodies:
        started = time.perf_counter_ns()
        floor.put_nowait(("conversation", item))
        floor_ns.append(time.perf_counter_ns() - started)
    logger = BackgroundLogger(base_url, api_key=key, max_queue=max(count, 10_000))
    logged_ns = []
    for item in bodies:
        started = time.perf_counter_ns()
        logger.log_conversation(item)
        logged_ns.append(time.perf_counter_ns() - started)
    logger.shutdown(timeout=600)
    stats = logger.stats
    return {
        "log_conversation": percentiles(logged_ns[1:]),  # the first starts the sender
        "queue_put_baseline": percentiles(floor_ns),
        "sent": stats.sent,
        "dropped": stats.dropped,
        "failed": stats.failed,
    }


def throughput(base_url: str, key: str, count: int, concurrency: int) -> dict[str, Any]:
    logger = BackgroundLogger(base_url, api_key=key, max_queue=count + 1, concurrency=concurrency)
    started = time.perf_counter()
    for n in range(count):
        logger.log_conversation(body("bg", n))
    assert logger.flush(timeout=900), "the logger did not flush in time"
    logged_s = time.perf_counter() - started
    sent = logger.stats.sent
    logger.shutdown()

    bodies = [body("direct", n) for n in range(count)]
    clients = [Client(base_url, api_key=key) for _ in range(concurrency)]

    def post(index: int) -> None:
        for item in bodies[index::concurrency]:
            clients[index].log_conversation(item)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    direct_s = time.perf_counter() - started
    for client in clients:
        client.close()
    return {
        "background_per_s": round(sent / logged_s),
        "direct_clients_per_s": round(count / direct_s),
        "ratio": round((sent / logged_s) / (count / direct_s), 3),
        "sent": sent,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000, help="conversations per phase")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, Any] = {"count": args.count, "load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'logger.db'}"
        key = prepare_database(url)
        server = ServerProcess(
            "convoscope",
            log_path=Path(tmp) / "server.log",
            env={
                "CONVOSCOPE_DATABASE_URL": url,
                "CONVOSCOPE_LOG_LEVEL": "warning",
                "CONVOSCOPE_ANNOTATION_WORKER": "false",
            },
            ready_path="/healthz",
        )
        server.start()
        try:
            base_url = f"http://127.0.0.1:{server.port}"
            results["caller"] = caller_cost(base_url, key, args.count)
            log("caller: " + json.dumps(results["caller"]))
            results["throughput"] = throughput(base_url, key, args.count, args.concurrency)
            log("throughput: " + json.dumps(results["throughput"]))
        finally:
            server.stop()
    results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
