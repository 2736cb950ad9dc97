"""Ingest at the shape real chat apps send: a recorded workload replayed two ways, and
the cost of a turn against the length of its conversation.

    .venv/bin/python bench/ingest.py --workload ../shared/data/chat-workload/n2000.jsonl

What runs (each server in its own process, ``bench.servers``; the load generator here):

* ``per_conversation``: one ``POST /conversations`` per conversation with its whole
  history (an import, or a logger at the end of a chat);
* ``per_turn``: one per answered turn with the history so far, each conversation's turns
  in order (a turn is sent once the previous one was answered): what a chat app sends
  after every answer;
* both on SQLite and PostgreSQL, with the annotation worker on and off, each replay on a
  fresh database. The rounds alternate the order of on and off, so drift on a shared
  machine falls on both; the ratio on/off is taken within each round;
* ``length``: conversations of 30 turns logged turn by turn, the n-th turn of every
  conversation sent together, so each step measures the cost of a turn at one length.

Every body is serialised before the clock starts, and the generator's own CPU time is
reported (``client_cpu_s``), so a slow client cannot pass for a slow server. With the
worker on, the report says how many threads were still waiting when the replay ended
and how long the worker then took to annotate them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import psutil
import uvloop
from sqlalchemy import text

from bench.bodies import random_text
from bench.load import _connect, _Connection, build_requests
from bench.servers import ServerProcess
from convoscope.store import make_engine

DEFAULT_WORKLOAD = Path(__file__).resolve().parents[2] / "shared/data/chat-workload/n2000.jsonl"
REPLAYS = ("per_conversation", "per_turn")
# The targets of the issue.
TARGET_PER_TURN_RPS = 1000.0
TARGET_WORKER_ON_VS_OFF = 0.9
TARGET_LAST_VS_FIRST_TURN = 1.5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- Bodies ---------------------------------------------------------------------------


def _millis(timestamp: str) -> str:
    """The workload's microsecond times as the SDK sends them: milliseconds and Z."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _body(record: dict[str, Any], tag: str, messages: Sequence[dict[str, Any]]) -> bytes:
    return orjson.dumps(
        {
            "id": f"{tag}-{record['conversation_id']}",
            "type": "openai",
            "properties": {**record["properties"], "session": record["session_id"]},
            "userProperties": {"id": record["user_id"], "identificationType": "COOKIED"},
            # No message ids, as the workload has none: the server matches by position.
            "messages": [
                {"role": m["role"], "content": m["content"], "createdAt": _millis(m["timestamp"])}
                for m in messages
            ],
        }
    )


def load_workload(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as lines:
        return [orjson.loads(line) for line in lines if line.strip()]


def per_conversation_bodies(records: Sequence[dict[str, Any]], tag: str) -> list[list[bytes]]:
    """One sequence per conversation: its whole history, once."""
    return [[_body(r, tag, r["messages"])] for r in records]


def per_turn_bodies(records: Sequence[dict[str, Any]], tag: str) -> list[list[bytes]]:
    """One sequence per conversation: the history up to the end of each answered turn."""
    sequences = []
    for record in records:
        messages = record["messages"]
        starts = [i for i, m in enumerate(messages) if m["role"] == "user"]
        ends = [*starts[1:], len(messages)]
        sequences.append([_body(record, tag, messages[:end]) for end in ends])
    return sequences


def synthetic_turns(conversations: int, turns: int, tag: str, seed: int = 7) -> list[list[bytes]]:
    """``turns`` bodies for each of ``conversations``: the history after each answer,
    messages of a few hundred characters."""
    import random

    rng = random.Random(seed)
    pool = [random_text(rng, 150, 400) for _ in range(500)]
    sequences = []
    for n in range(conversations):
        history: list[dict[str, Any]] = []
        bodies = []
        for _ in range(turns):
            history.append({"role": "user", "content": rng.choice(pool)})
            history.append({"role": "assistant", "content": rng.choice(pool)})
            bodies.append(
                orjson.dumps(
                    {
                        "id": f"{tag}-{n}",
                        "type": "openai",
                        "properties": {"plan": "pro"},
                        "userProperties": {"id": f"anon-{n}", "identificationType": "COOKIED"},
                        "messages": history,
                    }
                )
            )
        sequences.append(bodies)
    return sequences


# --- Sending --------------------------------------------------------------------------


@dataclass
class Replay:
    """What one replay saw: answers, time, and the CPU the parties used."""

    requests: int
    ok: int
    errors: int
    elapsed_s: float
    client_cpu_s: float
    server_cpu_s: float
    database_cpu_s: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms) or [float("nan")]
        return {
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
            "elapsed_s": round(self.elapsed_s, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(ordered[len(ordered) // 2], 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
            "client_cpu_s": round(self.client_cpu_s, 3),
            "server_cpu_ms_per_request": round(
                1000 * (self.server_cpu_s + self.database_cpu_s) / max(self.ok, 1), 3
            ),
        }


async def _drive_sequences(
    port: int, sequences: Sequence[Sequence[bytes]], concurrency: int
) -> tuple[int, int, list[float]]:
    """Each client takes the next sequence and sends its requests one after another."""
    connections = await asyncio.gather(*(_connect(port) for _ in range(concurrency)))
    next_sequence = 0
    ok = errors = 0
    latencies: list[float] = []
    clock = time.perf_counter_ns

    async def client(connection: _Connection) -> None:
        nonlocal next_sequence, ok, errors
        while next_sequence < len(sequences):
            sequence = sequences[next_sequence]
            next_sequence += 1
            for request in sequence:
                if connection.closed:
                    connection = await _connect(port)
                sent = clock()
                try:
                    status = await connection.send(request)
                except (ConnectionError, OSError):
                    errors += 1
                    continue
                latencies.append((clock() - sent) / 1e6)
                if 200 <= status < 300:
                    ok += 1
                else:
                    errors += 1
        connection.close()

    await asyncio.gather(*(client(c) for c in connections))
    return ok, errors, latencies


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def send(
    server: ServerProcess,
    sequences: Sequence[Sequence[bytes]],
    *,
    concurrency: int,
    database_pids: Callable[[], list[int]] = list,
) -> Replay:
    """Send every sequence (already request bytes); the clock covers the sending only."""
    gc.collect()
    gc.freeze()
    pids = database_pids()
    database_before = sum(_cpu(p) for p in pids)
    server_before = _cpu(server.pid)
    client_before = time.process_time()
    started = time.perf_counter()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        ok, errors, latencies = runner.run(_drive_sequences(server.port, sequences, concurrency))
    elapsed = time.perf_counter() - started
    client = time.process_time() - client_before
    server_cpu = _cpu(server.pid) - server_before
    database_cpu = sum(_cpu(p) for p in pids) - database_before
    gc.unfreeze()
    return Replay(
        requests=sum(len(s) for s in sequences),
        ok=ok,
        errors=errors,
        elapsed_s=elapsed,
        client_cpu_s=client,
        server_cpu_s=server_cpu,
        database_cpu_s=max(0.0, database_cpu),
        latencies_ms=latencies,
    )


# --- Servers --------------------------------------------------------------------------


@dataclass
class Engine:
    """Where fresh databases come from: SQLite files, or databases in one cluster."""

    name: str
    make_url: Callable[[str], str]
    database_pids: Callable[[], list[int]] = list


@contextmanager
def _server(
    engine: Engine, label: str, workdir: Path, *, worker: bool
) -> Iterator[tuple[ServerProcess, str, str]]:
    """A convoscope server on a fresh database; yields it, its url and its api key."""
    from bench.servers import prepare_database

    url = engine.make_url(label)
    key = prepare_database(url)
    server = ServerProcess(
        "convoscope",
        log_path=workdir / f"{label}.log",
        env={
            "CONVOSCOPE_DATABASE_URL": url,
            "CONVOSCOPE_LOG_LEVEL": "warning",
            "CONVOSCOPE_ANNOTATION_WORKER": "true" if worker else "false",
        },
        ready_path="/healthz",
    )
    server.start()
    try:
        yield server, url, f"Bearer {key}"
    finally:
        server.stop()


def _thread_counts(url: str) -> dict[str, int]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT annotation_status, count(*) FROM semantic_threads GROUP BY 1")
            )
            return {str(status): int(n) for status, n in rows}
    finally:
        engine.dispose()


def _stored(url: str) -> dict[str, int]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return {
                table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in ("conversations", "messages", "semantic_threads")
            }
    finally:
        engine.dispose()


def _waiting(url: str) -> tuple[int, int]:
    counts = _thread_counts(url)
    return counts.get("pending", 0) + counts.get("claimed", 0), sum(counts.values())


def _catch_up(url: str, limit_s: float) -> dict[str, Any]:
    """Threads waiting when ingest ended, and how fast the worker then annotated them
    (watched for ``limit_s`` at most: on a loaded machine the backlog takes minutes)."""
    waiting, total = _waiting(url)
    at_end = waiting
    started = time.perf_counter()
    while waiting and time.perf_counter() - started < limit_s:
        time.sleep(0.5)
        waiting, total = _waiting(url)
    watched = time.perf_counter() - started
    return {
        "threads": total,
        "waiting_at_end_of_ingest": at_end,
        "annotated_during_ingest": total - at_end,
        "catch_up_s": round(watched, 1) if not waiting else None,
        "still_waiting_after_s": None if not waiting else [round(watched, 1), waiting],
        "threads_per_s_after_ingest": round((at_end - waiting) / max(watched, 1e-9), 1),
    }


def replay(
    engine: Engine,
    label: str,
    workdir: Path,
    sequences: Sequence[Sequence[bytes]],
    *,
    worker: bool,
    concurrency: int,
    catch_up_s: float,
) -> dict[str, Any]:
    with _server(engine, label, workdir, worker=worker) as (server, url, authorization):
        requests = [
            build_requests(server.port, "/conversations", list(s), authorization) for s in sequences
        ]
        result = send(server, requests, concurrency=concurrency, database_pids=engine.database_pids)
        summary = result.summary()
        summary["stored"] = _stored(url)
        if worker:
            summary["annotation"] = _catch_up(url, catch_up_s)
    log(
        f"{label:<40} {summary['rps']:8.1f} req/s  p50 {summary['p50_ms']:6.2f} ms  "
        f"errors {summary['errors']}  client cpu {summary['client_cpu_s']:.2f} s  "
        f"server cpu {summary['server_cpu_ms_per_request']:.3f} ms/req"
    )
    return summary


def length_steps(
    engine: Engine,
    workdir: Path,
    *,
    conversations: int,
    turns: int,
    concurrency: int,
) -> dict[str, Any]:
    """Turn n of every conversation sent together, for n = 1 .. turns, on one server."""
    sequences = synthetic_turns(conversations, turns, "len")
    warm = synthetic_turns(conversations, 3, "warm")
    steps = []
    with _server(engine, f"{engine.name}-length", workdir, worker=False) as (server, _, auth):
        # Every code path warmed first (statements prepared, caches filled): the first
        # step must cost what a first turn costs, not what a cold server does.
        send(
            server,
            [build_requests(server.port, "/conversations", s, auth) for s in warm],
            concurrency=concurrency,
        )
        for turn in range(turns):
            requests = [
                build_requests(server.port, "/conversations", [s[turn]], auth) for s in sequences
            ]
            r = send(server, requests, concurrency=concurrency, database_pids=engine.database_pids)
            steps.append(r.summary())
    first, last = steps[0], steps[-1]
    cpu = [s["server_cpu_ms_per_request"] for s in steps]
    return {
        "conversations": conversations,
        "turns": turns,
        "messages_at_last_turn": 2 * turns,
        "rps_by_turn": [s["rps"] for s in steps],
        "server_cpu_ms_by_turn": [s["server_cpu_ms_per_request"] for s in steps],
        "errors": sum(s["errors"] for s in steps),
        "last_vs_first_turn_server_cpu": round(
            last["server_cpu_ms_per_request"] / max(first["server_cpu_ms_per_request"], 1e-9), 3
        ),
        "first_vs_last_turn_rps": round(first["rps"] / max(last["rps"], 1e-9), 3),
        # Less exposed to one noisy step: the last three turns against the first three.
        "last3_vs_first3_server_cpu": round(
            statistics.median(cpu[-3:]) / max(statistics.median(cpu[:3]), 1e-9), 3
        ),
    }


# --- Main -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workload",
        type=Path,
        nargs="?",
        const=DEFAULT_WORKLOAD,
        default=None,
        help="replay a recorded chat workload (JSONL, see its README) per conversation and "
        f"per turn instead of the synthetic scenarios (default file: {DEFAULT_WORKLOAD})",
    )
    parser.add_argument(
        "--length-turns", type=int, default=30, help="--workload: turns of the length test"
    )
    parser.add_argument(
        "--length-conversations",
        type=int,
        default=300,
        help="--workload: conversations logged turn by turn in the length test",
    )
    parser.add_argument(
        "--catch-up-limit",
        type=float,
        default=45.0,
        help="--workload: seconds to watch the worker annotate what ingest left",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole workload benchmark; returns the report."""
    records = load_workload(args.workload)
    machine = {
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    workdir = Path(tempfile.mkdtemp(prefix="convoscope-workload-"))
    report: dict[str, Any] = {
        "benchmark": "ingest --workload",
        "workload": args.workload.name,
        "conversations": len(records),
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "machine": machine,
    }
    with ExitStack() as stack:
        engines: list[Engine] = []
        if "sqlite" in args.databases:
            engines.append(Engine("sqlite", lambda label: f"sqlite:///{workdir / label}.db"))
        if "postgresql" in args.databases:
            engines.append(stack.enter_context(_postgres_engine()))
        bodies = {
            "per_conversation": per_conversation_bodies(records, "wl"),
            "per_turn": per_turn_bodies(records, "wl"),
        }
        for engine in engines:
            results: dict[str, Any] = {}
            for replay_name in REPLAYS:
                runs: dict[str, list[dict[str, Any]]] = {"worker_on": [], "worker_off": []}
                for round_no in range(args.rounds):
                    order = (True, False) if round_no % 2 == 0 else (False, True)
                    for worker in order:
                        key = "worker_on" if worker else "worker_off"
                        label = f"{engine.name}-{replay_name}-{key}-{round_no}"
                        runs[key].append(
                            replay(
                                engine,
                                label,
                                workdir,
                                bodies[replay_name],
                                worker=worker,
                                concurrency=args.concurrency,
                                catch_up_s=args.catch_up_limit,
                            )
                        )
                results[replay_name] = {
                    **runs,
                    "rps_worker_on": statistics.median(r["rps"] for r in runs["worker_on"]),
                    "rps_worker_off": statistics.median(r["rps"] for r in runs["worker_off"]),
                    "worker_on_vs_off": round(
                        statistics.median(
                            on["rps"] / max(off["rps"], 1e-9)
                            for on, off in zip(runs["worker_on"], runs["worker_off"], strict=True)
                        ),
                        3,
                    ),
                }
            results["length"] = length_steps(
                engine,
                workdir,
                conversations=args.length_conversations,
                turns=args.length_turns,
                concurrency=args.concurrency,
            )
            report[engine.name] = results
            # Each engine's figures as soon as they are measured: a later failure keeps them.
            log(orjson.dumps({engine.name: results}).decode())
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["targets"] = _targets(report)
    if not args.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return report


def _targets(report: dict[str, Any]) -> dict[str, Any]:
    met: dict[str, Any] = {}
    sqlite = report.get("sqlite")
    if sqlite:
        met["per_turn_sqlite_worker_on_rps"] = {
            "value": sqlite["per_turn"]["rps_worker_on"],
            "target": TARGET_PER_TURN_RPS,
            "met": sqlite["per_turn"]["rps_worker_on"] >= TARGET_PER_TURN_RPS,
        }
    for name in ("sqlite", "postgresql"):
        results = report.get(name)
        if not results:
            continue
        for replay_name in REPLAYS:
            ratio = results[replay_name]["worker_on_vs_off"]
            met[f"{name}_{replay_name}_worker_on_vs_off"] = {
                "value": ratio,
                "target": TARGET_WORKER_ON_VS_OFF,
                "met": ratio >= TARGET_WORKER_ON_VS_OFF,
            }
        ratio = results["length"]["last_vs_first_turn_server_cpu"]
        met[f"{name}_last_vs_first_turn"] = {
            "value": ratio,
            "target": TARGET_LAST_VS_FIRST_TURN,
            "met": ratio <= TARGET_LAST_VS_FIRST_TURN,
        }
    return met


@contextmanager
def _postgres_engine() -> Iterator[Engine]:
    from bench.ingest import _postgres, _postgres_pids
    from tests.pgcluster import create_database

    log("starting a throwaway PostgreSQL cluster")
    with _postgres() as (url, data_dir, _):
        yield Engine(
            "postgresql",
            lambda label: create_database(url, label.replace("-", "_")),
            _postgres_pids(data_dir),
        )
