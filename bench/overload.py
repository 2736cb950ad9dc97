"""What the writer's 503 back-pressure does under overload, as one JSON object.

    .venv/bin/python bench/overload.py                          # SQLite
    .venv/bin/python bench/overload.py --database both --factor 4 --seconds 30
    .venv/bin/python bench/ingest.py --overload                 # the same, after ingest's run

For each engine, a convoscope server in its own process (``bench.servers``) and, in this
process, a load generator (``bench.load``) sending ``POST /conversations``:

1. the sustainable rate: ``--concurrency`` closed-loop keep-alive clients for
   ``--calibrate`` seconds, after a warm-up (the same measurement as bench/ingest.py);
2. overload: requests offered open-loop at ``--factor`` times that rate for
   ``--seconds``, each on an idle connection among at most ``--connections`` (more than
   the writer's queue limit, so that the queue can fill). A request offered while every
   connection waits is shed by the client and counted; the server never saw it;
3. the server's resident memory sampled every 0.25 s from before the overload to after
   it, and afterwards every conversation answered 2xx looked up in the database, and
   every one answered 503 too (it must not be there).

The run is ``ok`` when every answer was a 2xx or a 503 (no 5xx, no dropped connection),
every 2xx is stored and no 503 is, and the memory stayed flat: over the second half of
the overload it grew by less than ``FLAT_GROWTH`` of what the server held before it.
Figures are ratios to the sustainable rate measured in the same run: the machine may be
shared. Progress goes to stderr; stdout gets the JSON.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import psutil
from sqlalchemy import text

from bench.bodies import BodyFactory
from bench.ingest import _postgres
from bench.load import OpenLoopResult, build_requests, run_load, run_open_loop
from bench.servers import ServerProcess, prepare_database
from convoscope.store import make_engine

FLAT_GROWTH = 0.05
SAMPLE_SECONDS = 0.25


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class MemorySampler:
    """The resident memory of one process, sampled on a thread until stopped."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            rss = self._process.memory_info().rss / 2**20
            self.samples.append((time.monotonic() - self._started, rss))

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def between(self, start: float, end: float) -> list[float]:
        return [mb for at, mb in self.samples if start <= at <= end]

    def now(self) -> float:
        return time.monotonic() - self._started


def _percentile_ms(latencies: Sequence[int], fraction: float) -> float | None:
    if not latencies:
        return None
    ordered = sorted(latencies)
    return round(ordered[max(0, int(fraction * len(ordered)) - 1)] / 1e6, 2)


def _stored(url: str, ids: Sequence[str]) -> set[str]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id FROM conversations WHERE id LIKE 'conv-overload-%'")
            )
            found = {str(r[0]) for r in rows}
    finally:
        engine.dispose()
    return found & set(ids)


def measure_engine(name: str, url: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    key = prepare_database(url)
    env = {
        "CONVOSCOPE_DATABASE_URL": url,
        "CONVOSCOPE_LOG_LEVEL": "warning",
        "CONVOSCOPE_ANNOTATION_WORKER": "false",
    }
    if args.queue_limit:
        env["CONVOSCOPE_WRITE_QUEUE_LIMIT"] = str(args.queue_limit)
    server = ServerProcess(
        "convoscope", log_path=workdir / f"{name}.log", env=env, ready_path="/healthz"
    )
    bodies = BodyFactory(args.seed)
    authorization = f"Bearer {key}"
    server.start()
    try:

        def closed_loop(tag: str, seconds: float, count: int) -> float:
            made = [bodies.conversation(tag, n)[0] for n in range(count)]
            requests = build_requests(server.port, "/conversations", made, authorization)
            result = run_load(
                server.port, requests, concurrency=args.concurrency, duration_s=seconds
            )
            if result.failed:
                raise RuntimeError(f"{name}: {tag} answers {dict(result.statuses)}")
            return result.rps

        log(f"{name}: warming up")
        warm = closed_loop("warmup", args.warmup, 20_000)
        log(f"{name}: measuring the sustainable rate")
        sustainable = closed_loop(
            "calibrate", args.calibrate, int(max(warm, 500) * args.calibrate * 2)
        )
        rate = sustainable * args.factor
        count = int(rate * args.seconds * 1.05) + 100
        log(
            f"{name}: {sustainable:.0f} req/s sustained; "
            f"offering {rate:.0f} req/s for {args.seconds} s"
        )
        made = [bodies.conversation("overload", n) for n in range(count)]
        ids = [logged.id for _, logged in made]
        requests = build_requests(
            server.port, "/conversations", [b for b, _ in made], authorization
        )
        del made
        with MemorySampler(server.pid) as memory:
            time.sleep(2)
            began = memory.now()
            result = run_open_loop(
                server.port,
                requests,
                rate=rate,
                duration_s=args.seconds,
                max_connections=args.connections,
            )
            ended = memory.now()
            time.sleep(3)
        stored = _stored(url, ids)
    finally:
        server.stop()
    return _report(name, sustainable, rate, args, result, memory, began, ended, ids, stored)


def _report(
    name: str,
    sustainable: float,
    rate: float,
    args: argparse.Namespace,
    result: OpenLoopResult,
    memory: MemorySampler,
    began: float,
    ended: float,
    ids: Sequence[str],
    stored: set[str],
) -> dict[str, Any]:
    acknowledged = {ids[i] for i in result.acknowledged}
    refused_stored = len(stored - acknowledged)  # stored, yet never answered 2xx
    before = memory.between(0, began)
    during = memory.between(began, ended)
    second_half = memory.between((began + ended) / 2, ended)
    rss_before = statistics.median(before) if before else float("nan")
    growth = (max(second_half) - second_half[0]) if second_half else float("nan")
    unexpected = {
        str(status): n
        for status, n in result.statuses.items()
        if not (200 <= status < 300 or status == 503)
    }
    ok2xx = len(result.acknowledged)
    report = {
        "sustainable_rps": round(sustainable),
        "offered_rps": round(result.offered / result.elapsed_s),
        "factor": args.factor,
        "seconds": round(result.elapsed_s, 1),
        "connections_at_most": result.most_connections,
        "offered": result.offered,
        "shed_by_client": result.shed,
        "answers": {str(k): v for k, v in sorted(result.statuses.items())},
        "connection_errors": result.connection_errors,
        "connection_error_samples": result.error_samples,
        "2xx_rps": round(ok2xx / result.elapsed_s),
        "2xx_vs_sustainable": round(ok2xx / result.elapsed_s / sustainable, 2),
        "latency_ms": {
            str(status): {"p50": _percentile_ms(lat, 0.5), "p99": _percentile_ms(lat, 0.99)}
            for status, lat in sorted(result.latencies_ns.items())
        },
        "rss_mb": {
            "before": round(rss_before, 1),
            "peak_during": round(max(during), 1) if during else None,
            "end_of_overload": round(during[-1], 1) if during else None,
            "growth_over_second_half": round(growth, 1),
        },
        "2xx_found": len(acknowledged & stored),
        "2xx_missing": len(acknowledged - stored),
        "stored_without_a_2xx": refused_stored,
    }
    report["ok"] = bool(
        not unexpected
        and result.connection_errors == 0
        and not acknowledged - stored
        and refused_stored == 0
        and growth < FLAT_GROWTH * rss_before
    )
    if unexpected:
        report["unexpected_answers"] = unexpected
    log(f"{name}: {orjson.dumps(report).decode()}")
    return report


def measure_overload(databases: Sequence[str], args: argparse.Namespace) -> dict[str, Any]:
    """The overload figures of each engine, with the machine's load around them."""
    workdir = Path(tempfile.mkdtemp(prefix="convoscope-overload-"))
    out: dict[str, Any] = {"load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        for database in databases:
            with _database(database, workdir) as url:
                out[database] = measure_engine(database, url, workdir, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out["ok"] = all(out[d]["ok"] for d in databases)
    return out


@contextmanager
def _database(database: str, workdir: Path) -> Iterator[str]:
    if database == "sqlite":
        yield f"sqlite:///{workdir / 'overload.db'}"
        return
    log("starting a throwaway PostgreSQL cluster")
    with _postgres() as (url, _, _):
        yield url


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("overload")
    group.add_argument("--factor", type=float, default=4.0, help="times the sustainable rate")
    group.add_argument("--seconds", type=float, default=30.0, help="seconds of overload")
    group.add_argument("--calibrate", type=float, default=10.0,
                       help="seconds measuring the sustainable rate")  # fmt: skip
    group.add_argument("--connections", type=int, default=4096,
                       help="most connections the overload opens")  # fmt: skip
    group.add_argument("--queue-limit", type=int, default=0,
                       help="the server's CONVOSCOPE_WRITE_QUEUE_LIMIT (0: default)")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="convoscope under overload; print JSON.")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop clients")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=1)
    add_arguments(parser)
    args = parser.parse_args(argv)
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    report = measure_overload(databases, args)
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
