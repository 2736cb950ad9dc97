"""Ingestion throughput of convoscope against two baselines, as one JSON object.

    .venv/bin/python bench/ingest.py                        # SQLite
    .venv/bin/python bench/ingest.py --database both        # SQLite and PostgreSQL
    .venv/bin/python bench/ingest.py --duration 10 --rounds 3 --concurrency 16
    .venv/bin/python bench/ingest.py --overload             # then 4x overload (bench/overload.py)
    .venv/bin/python bench/ingest.py --database postgresql --workers 1,2
                                                            # 1 against 2 server processes
                                                            # (bench/scale.py --part workers)
    .venv/bin/python bench/ingest.py --workload PATH/n2000.jsonl --database both
                                                            # a recorded chat workload

What runs, all on 127.0.0.1, each server in its own process under the same uvicorn
options (``bench.servers``), the load generator in this process (``bench.load``):

* convoscope on SQLite (a fresh file) and/or on PostgreSQL (a throwaway cluster);
* baseline ``parse_only``: a bare ASGI endpoint that parses the body and stores nothing;
* baseline ``sqlite_commit_per_request``: a bare ASGI endpoint that inserts the same rows
  with ``sqlite3`` (WAL, ``synchronous=FULL``) and commits once per request;
* with ``--fastapi-floor``, the reference ``fastapi_validate_only``: FastAPI with
  convoscope's request models, storing nothing (what the framework alone costs).

Scenarios, each with ``--concurrency`` keep-alive clients for ``--duration`` seconds:
``POST /conversations`` (4 messages each), ``POST /feedback`` and ``POST /events`` (the
three entity types in turn). Feedback and events refer to conversations logged before
the clock starts. Every target runs every scenario once per round, in an order rotated
each round, so slow drift on a shared machine spreads over all of them; the figures are
the medians over the rounds.

A run is trusted only if every answer was a 2xx and, afterwards, every database holds
exactly as many rows as it acknowledged. Progress goes to stderr; stdout gets the JSON.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script (``python bench/ingest.py``): make ``bench`` and ``tests`` importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import psutil
import uvicorn
from sqlalchemy import text

from bench import baselines, workload
from bench.bodies import BodyFactory, LoggedConversation
from bench.load import LoadResult, build_requests, run_load
from bench.servers import ROOT, UVICORN_OPTIONS, ServerProcess, prepare_database
from convoscope.store import make_engine

SCENARIOS = ("conversations", "feedback", "events")
PATHS = {"conversations": "/conversations", "feedback": "/feedback", "events": "/events"}
PARSE_ONLY = "parse_only"
SQLITE_COMMIT = "sqlite_commit_per_request"
BASELINES = (PARSE_ONLY, SQLITE_COMMIT)
FASTAPI_FLOOR = "fastapi_validate_only"
CPU_PARTIES = ("server", "database", "client", "other", "steal")
# The targets of the issue: at least half the parse-only rate, three times commit-per-request.
TARGET_VS_PARSE_ONLY = 0.5
TARGET_VS_SQLITE_COMMIT = 3.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- CPU accounting -------------------------------------------------------------------
# Two cores, shared with whatever else runs on the machine: knowing who used the CPU
# during a run tells a saturated server from a starved one.


@dataclass(frozen=True)
class _CpuSnapshot:
    wall: float
    server: float
    database: dict[int, float]
    client: float
    busy: float
    steal: float


def _process_cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _database_cpu(pids: Sequence[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        try:
            found[pid] = _process_cpu(pid)
        except psutil.Error:
            continue
    return found


def _snapshot(server_pid: int, database_pids: Sequence[int]) -> _CpuSnapshot:
    machine = psutil.cpu_times()
    # guest time is already counted in user; steal is time the hypervisor gave away.
    busy = sum(getattr(machine, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq"))
    return _CpuSnapshot(
        wall=time.monotonic(),
        server=_process_cpu(server_pid),
        database=_database_cpu(database_pids),
        client=time.process_time(),
        busy=float(busy),
        steal=float(getattr(machine, "steal", 0.0)),
    )


def _cpu_seconds(before: _CpuSnapshot, after: _CpuSnapshot) -> dict[str, float]:
    """CPU seconds each party used between the snapshots, and the wall time."""
    server = after.server - before.server
    database = sum(
        after.database[pid] - before.database[pid]
        for pid in after.database.keys() & before.database.keys()
    )
    client = after.client - before.client
    return {
        "wall": after.wall - before.wall,
        "server": server,
        "database": database,
        "client": client,
        # Everything else: other programs, and kernel threads (disk flushes among them).
        "other": max(0.0, after.busy - before.busy - server - database - client),
        "steal": after.steal - before.steal,
    }


# --- Targets --------------------------------------------------------------------------


@dataclass
class Measurement:
    result: LoadResult
    cpu_s: dict[str, float]

    def cores(self, party: str) -> float:
        """Average cores ``party`` kept busy during the run."""
        return self.cpu_s[party] / self.cpu_s["wall"]

    def cpu_ms_per_request(self) -> float:
        """Server (and database server) CPU per answer: less sensitive to a busy
        machine than the rate, since time spent waiting for a core is not counted."""
        answered = len(self.result.latencies_ns)
        used = self.cpu_s["server"] + self.cpu_s["database"]
        return 1000 * used / answered if answered else math.nan


@dataclass
class Target:
    """A server under test, with what it acknowledged and what was measured on it."""

    name: str
    server: ServerProcess
    authorization: str | None = None
    count_rows: Callable[[], dict[str, int]] | None = None
    database_pids: Callable[[], list[int]] = list
    logged: list[LoggedConversation] = field(default_factory=list)
    acknowledged: Counter[str] = field(default_factory=Counter)
    rate_estimate: dict[str, float] = field(default_factory=dict)
    measurements: dict[str, list[Measurement]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.bodies = BodyFactory(args.seed)
        self._sequence = 0  # every conversation id in the run is distinct

    def _next(self) -> int:
        self._sequence += 1
        return self._sequence

    def make_bodies(
        self, target: Target, scenario: str, count: int, purpose: str
    ) -> tuple[list[bytes], list[LoggedConversation]]:
        if scenario == "conversations":
            made = [self.bodies.conversation(purpose, self._next()) for _ in range(count)]
            return [body for body, _ in made], [logged for _, logged in made]
        if not target.logged:
            raise RuntimeError(f"{target.name}: no conversation logged for {scenario} to name")
        make = self.bodies.feedback if scenario == "feedback" else self.bodies.event
        return [make(self._next(), target.logged) for _ in range(count)], []

    def send(
        self,
        target: Target,
        scenario: str,
        count: int,
        *,
        purpose: str,
        duration_s: float | None,
    ) -> Measurement:
        """Send ``count`` fresh bodies (or fewer, when ``duration_s`` runs out first)."""
        bodies, logged = self.make_bodies(target, scenario, count, purpose)
        requests = build_requests(target.server.port, PATHS[scenario], bodies, target.authorization)
        del bodies
        # Everything built so far lives to the end of the run: keep the collector from
        # walking it in the middle of the timed loop.
        gc.collect()
        gc.freeze()
        database_pids = target.database_pids()
        before = _snapshot(target.server.pid, database_pids)
        result = run_load(
            target.server.port,
            requests,
            concurrency=self.args.concurrency,
            duration_s=duration_s,
        )
        after = _snapshot(target.server.pid, database_pids)
        gc.unfreeze()
        target.acknowledged[scenario] += result.ok
        if purpose == "preload":
            if result.failed:
                raise RuntimeError(
                    f"{target.name}: preloading conversations failed: "
                    f"{dict(result.statuses)} {result.error_samples}"
                )
            target.logged.extend(logged)
        if result.failed:
            target.problems.append(
                f"{scenario} ({purpose}): {result.failed} failed answers "
                f"{dict(result.statuses)} {result.error_samples}"
            )
        return Measurement(result, _cpu_seconds(before, after))

    def warm_up(self, target: Target) -> None:
        """Warm every code path, log the conversations later bodies refer to, and
        estimate each rate so that a timed run gets enough distinct bodies."""
        args = self.args
        self.send(target, "conversations", args.preload, purpose="preload", duration_s=None)
        for scenario in self.args.scenarios:
            warm = self.send(target, scenario, 20_000, purpose="warmup", duration_s=args.warmup)
            target.rate_estimate[scenario] = warm.result.rps

    def measure(self, target: Target, scenario: str, round_no: int) -> None:
        args = self.args
        # 1.5 x the best rate seen, and at least 5000 (slow targets vary the most between
        # runs), so the pool outlasts the run; if it does not, the run ends early and
        # reports the time it really took.
        count = int(max(5000.0, target.rate_estimate[scenario] * args.duration * 1.5))
        m = self.send(target, scenario, count, purpose="timed", duration_s=args.duration)
        target.rate_estimate[scenario] = max(target.rate_estimate[scenario], m.result.rps)
        target.measurements.setdefault(scenario, []).append(m)
        r = m.result
        log(
            f"round {round_no + 1}: {scenario:<13} {target.name:<26} "
            f"{r.rps:8.0f} req/s  p50 {r.percentile_ms(0.5):6.2f} ms  "
            f"p99 {r.percentile_ms(0.99):6.2f} ms  errors {r.failed}  "
            f"server cpu {m.cpu_ms_per_request():.3f} ms/req  cores "
            + " ".join(f"{p} {m.cores(p):.2f}" for p in CPU_PARTIES)
        )


# --- Setting up the targets ----------------------------------------------------------


def _convoscope_rows(url: str) -> Callable[[], dict[str, int]]:
    def count() -> dict[str, int]:
        engine = make_engine(url, pool_size=1)
        try:
            with engine.connect() as conn:
                return {
                    table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                    for table in SCENARIOS
                }
        finally:
            engine.dispose()

    return count


def _convoscope_target(name: str, url: str, workdir: Path, *, annotation_worker: bool) -> Target:
    key = prepare_database(url)
    server = ServerProcess(
        "convoscope",
        log_path=workdir / f"{name}.log",
        env={
            "CONVOSCOPE_DATABASE_URL": url,
            "CONVOSCOPE_LOG_LEVEL": "warning",
            # Off unless asked for: the worker's child process would annotate the
            # benchmark's own conversations, and its CPU would count as the server's.
            "CONVOSCOPE_ANNOTATION_WORKER": "true" if annotation_worker else "false",
        },
        ready_path="/healthz",
    )
    return Target(
        name,
        server,
        authorization=f"Bearer {key}",
        count_rows=_convoscope_rows(url),
    )


def _postgres_pids(data_dir: Path) -> Callable[[], list[int]]:
    """The postmaster and its children (one backend per pooled connection)."""

    def pids() -> list[int]:
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        process = psutil.Process(postmaster)
        return [postmaster, *(child.pid for child in process.children(recursive=True))]

    return pids


@contextmanager
def _postgres() -> Iterator[tuple[str, Path, dict[str, str]]]:
    """A throwaway cluster in the temporary directory: on the disk, like the SQLite files
    (not tmpfs as in the test suite: here commits must reach a disk)."""
    from tests.pgcluster import PostgresCluster, create_database

    with PostgresCluster() as cluster:
        url = create_database(cluster.url, "convoscope_bench")
        engine = make_engine(url, pool_size=1)
        try:
            with engine.connect() as conn:
                settings = {
                    name: str(conn.execute(text(f"SHOW {name}")).scalar_one())
                    for name in (
                        "server_version",
                        "fsync",
                        "synchronous_commit",
                        "full_page_writes",
                        "wal_sync_method",
                        "shared_buffers",
                    )
                }
        finally:
            engine.dispose()
        yield url, cluster.directory / "data", settings


# --- Report ---------------------------------------------------------------------------


def _summary(measurements: Sequence[Measurement]) -> dict[str, Any]:
    results = [m.result for m in measurements]
    failed = sum(r.failed for r in results)
    statuses: Counter[int] = Counter()
    for r in results:
        statuses.update(r.statuses)
    cores = {
        party: round(statistics.median(m.cores(party) for m in measurements), 2)
        for party in CPU_PARTIES
    }
    summary: dict[str, Any] = {
        "rps": round(statistics.median(r.rps for r in results), 1),
        "p50_ms": round(statistics.median(r.percentile_ms(0.5) for r in results), 2),
        "p99_ms": round(statistics.median(r.percentile_ms(0.99) for r in results), 2),
        "requests": sum(len(r.latencies_ns) for r in results)
        + sum(r.connection_errors for r in results),
        "errors": failed,
        "rps_rounds": [round(r.rps, 1) for r in results],
        "server_cpu_ms_per_request": round(
            statistics.median(m.cpu_ms_per_request() for m in measurements), 3
        ),
        "cpu_cores": cores,
    }
    if failed:
        summary["statuses"] = {str(k): v for k, v in sorted(statuses.items())}
    if any(r.pool_exhausted for r in results):
        summary["note"] = "ran out of pre-built bodies before the duration; rate is still valid"
    return summary


def _revision() -> dict[str, Any]:
    """The convoscope commit measured, and whether the work tree differed from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            # --no-optional-locks: a read, never a refresh of the index file.
            ["git", "--no-optional-locks", "status", "--porcelain", "--", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None}
    return {"commit": commit, "src_modified": bool(changed)}


def _machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "uvicorn": uvicorn.__version__,
    }


def _ratio(targets: dict[str, Target], name: str, baseline: str, scenario: str) -> float:
    """Median over the rounds of the rate ratio within each round.

    Runs of one round are minutes apart at most, while the load that other programs put
    on a shared machine (its disk above all) can change several-fold in a few minutes:
    pairing a run with its own round's baseline cancels much of that drift.
    """
    pairs = zip(
        targets[name].measurements[scenario],
        targets[baseline].measurements[scenario],
        strict=True,
    )
    ratios = [m.result.rps / b.result.rps for m, b in pairs if b.result.rps]
    return round(statistics.median(ratios), 3) if ratios else 0.0


def fsync_ms(directory: Path, samples: int = 50) -> float:
    """Median time to append 4 KiB to a file and fsync it, in the given directory: what
    a durable commit costs on this disk right now, the main cost of the baseline (b)."""
    path = directory / "fsync-probe"
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(samples):
            started = time.perf_counter()
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
            times.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        path.unlink()
    return round(1000 * statistics.median(times), 3)


def build_report(
    args: argparse.Namespace,
    targets: dict[str, Target],
    stored: dict[str, dict[str, dict[str, int]]],
    machine: dict[str, Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "benchmark": "ingest",
        "revision": _revision(),
        "machine": machine,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "annotation_worker": args.annotation_worker,
        "server": {**UVICORN_OPTIONS, "workers": 1},
        "load_generator": "bench/load.py: asyncio keep-alive HTTP/1.1 on uvloop, "
        "one request in flight per connection, in a separate process from the server",
    }
    report.update(extra)
    summaries = {
        name: {s: _summary(t.measurements[s]) for s in args.scenarios}
        for name, t in targets.items()
    }
    for name in args.databases:
        report[name] = summaries[name]
    report["baselines"] = {name: summaries[name] for name in BASELINES}

    if FASTAPI_FLOOR in summaries:
        report["references"] = {
            FASTAPI_FLOOR: {
                **summaries[FASTAPI_FLOOR],
                "ratios": {
                    f"{s}_vs_parse_only": _ratio(targets, FASTAPI_FLOOR, PARSE_ONLY, s)
                    for s in args.scenarios
                },
            }
        }

    if REDACTED in summaries:
        report["redaction"] = _redaction_cost(summaries, args.scenarios)

    # The generator's own cost, measured where it works hardest (against parse-only):
    # answers per second of its CPU time is the rate it could sustain on a whole core.
    ceiling = {}
    for scenario in args.scenarios:
        runs = targets[PARSE_ONLY].measurements[scenario]
        ceiling[scenario] = {
            "parse_only_rps": summaries[PARSE_ONLY][scenario]["rps"],
            "generator_cores_used": summaries[PARSE_ONLY][scenario]["cpu_cores"]["client"],
            "server_cores_used": summaries[PARSE_ONLY][scenario]["cpu_cores"]["server"],
            "generator_ceiling_rps_per_core": round(
                statistics.median(m.result.ok / max(m.cpu_s["client"], 1e-9) for m in runs)
            ),
        }
    report["generator_check"] = ceiling

    ratios: dict[str, dict[str, float]] = {}
    met: dict[str, dict[str, bool]] = {}
    problems: list[str] = []
    for name in args.databases:
        ratios[name], met[name] = {}, {}
        for scenario in args.scenarios:
            vs_parse = _ratio(targets, name, PARSE_ONLY, scenario)
            vs_commit = _ratio(targets, name, SQLITE_COMMIT, scenario)
            clean = not any(
                summaries[n][scenario]["errors"] for n in (name, PARSE_ONLY, SQLITE_COMMIT)
            )
            ratios[name][f"{scenario}_vs_parse_only"] = vs_parse
            ratios[name][f"{scenario}_vs_sqlite_commit"] = vs_commit
            # A run with errors meets nothing: failed requests are cheap and would flatter it.
            met[name][f"{scenario}_vs_parse_only"] = clean and vs_parse >= TARGET_VS_PARSE_ONLY
            met[name][f"{scenario}_vs_sqlite_commit"] = (
                clean and vs_commit >= TARGET_VS_SQLITE_COMMIT
            )
    if len(args.databases) == 1:
        report["ratios"] = ratios[args.databases[0]]
        report["targets_met"] = met[args.databases[0]]
    else:
        report["ratios"] = ratios
        report["targets_met"] = met
    report["targets"] = {
        "vs_parse_only": TARGET_VS_PARSE_ONLY,
        "vs_sqlite_commit": TARGET_VS_SQLITE_COMMIT,
        "ratio": "median over the rounds of rps / the baseline's rps in the same round",
    }

    report["stored_check"] = stored
    for name, target in targets.items():
        problems.extend(f"{name}: {p}" for p in target.problems)
    for name, check in stored.items():
        for table, numbers in check.items():
            if numbers["stored"] != numbers["acknowledged"]:
                problems.append(
                    f"{name}: {numbers['stored']} {table} stored but "
                    f"{numbers['acknowledged']} acknowledged"
                )
    report["problems"] = problems
    report["ok"] = not problems
    return report


def _check_stored(target: Target) -> dict[str, dict[str, int]]:
    """Rows in the database against 2xx answers: each acknowledged write is one new row."""
    if target.count_rows is None:
        return {}
    rows = target.count_rows()
    return {
        table: {"stored": rows[table], "acknowledged": target.acknowledged[table]}
        for table in SCENARIOS
        if table in rows
    }


# --- Main -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure convoscope's ingestion against two baselines; print JSON."
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql", "both"),
        default="sqlite",
        help="which database convoscope runs on (the baselines are always the same)",
    )
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per timed run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per path")
    parser.add_argument("--rounds", type=int, default=2, help="timed runs per target and path")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="comma-separated subset of " + ",".join(SCENARIOS),
    )
    parser.add_argument(
        "--preload",
        type=int,
        default=1000,
        help="conversations logged before timing, for feedback and events to refer to",
    )
    parser.add_argument(
        "--fastapi-floor",
        action="store_true",
        help="also measure a FastAPI endpoint with convoscope's request models that "
        "stores nothing (a reference for what the framework alone costs)",
    )
    parser.add_argument(
        "--redaction",
        action="store_true",
        help="also run convoscope on SQLite with its project's default redaction on "
        "(hashed placeholders): the cost of redaction per request",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers",
        type=lambda value: [int(part) for part in value.split(",")],
        default=None,
        help="instead: POST /conversations against 1,2,… server processes on one "
        "PostgreSQL, compared in the same run (bench/scale.py --part workers)",
    )
    parser.add_argument(
        "--annotation-worker",
        action="store_true",
        help="keep convoscope's background annotation running during the measurement",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the working directory (databases, logs)"
    )
    parser.add_argument(
        "--overload",
        action="store_true",
        help="then offer --factor times the sustainable rate for --seconds (bench/overload.py)",
    )
    from bench.overload import add_arguments

    add_arguments(parser)
    workload.add_arguments(parser)
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown or not chosen:
        parser.error(f"--scenarios: choose among {', '.join(SCENARIOS)}; got {unknown or 'none'}")
    args.scenarios = tuple(s for s in SCENARIOS if s in chosen)
    args.databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    if args.workers is not None and args.databases != ("postgresql",):
        parser.error("--workers runs several server processes: it needs --database postgresql")
    if args.redaction and "sqlite" not in args.databases:
        parser.error("--redaction compares against convoscope on SQLite: keep sqlite in --database")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workers is not None:  # one against several server processes (bench/scale.py)
        from bench import scale

        return scale.main(
            [
                "--part=workers",
                f"--workers={','.join(str(n) for n in args.workers)}",
                f"--duration={args.duration}",
                f"--warmup={args.warmup}",
                f"--rounds={args.rounds}",
                f"--concurrency={args.concurrency}",
            ]
        )
    if args.workload is not None:  # the recorded workload's replays (bench/workload.py)
        replayed = workload.run(args)
        print(orjson.dumps(replayed, option=orjson.OPT_INDENT_2).decode())
        return 0 if all(t["met"] for t in replayed["targets"].values()) else 1
    machine = _machine()
    # On the disk, not tmpfs: the point of the SQLite figures is the cost of durable commits.
    workdir = Path(tempfile.mkdtemp(prefix="convoscope-bench-"))
    machine["fsync_ms_at_start"] = fsync_ms(workdir)
    extra: dict[str, Any] = {}
    targets: dict[str, Target] = {}
    stored: dict[str, dict[str, dict[str, int]]] = {}
    try:
        with ExitStack() as stack:
            if "sqlite" in args.databases:
                targets["sqlite"] = _convoscope_target(
                    "sqlite",
                    f"sqlite:///{workdir / 'convoscope.db'}",
                    workdir,
                    annotation_worker=args.annotation_worker,
                )
            if args.redaction:
                targets[REDACTED] = _redacted_target(workdir, args.annotation_worker)
            if "postgresql" in args.databases:
                log("starting a throwaway PostgreSQL cluster")
                url, data_dir, pg_settings = stack.enter_context(_postgres())
                target = _convoscope_target(
                    "postgresql", url, workdir, annotation_worker=args.annotation_worker
                )
                target.database_pids = _postgres_pids(data_dir)
                targets["postgresql"] = target
                extra["postgresql_settings"] = pg_settings
            if args.fastapi_floor:
                targets[FASTAPI_FLOOR] = Target(
                    FASTAPI_FLOOR,
                    ServerProcess("fastapi_floor", log_path=workdir / "fastapi_floor.log"),
                )
            targets[PARSE_ONLY] = Target(
                PARSE_ONLY,
                ServerProcess("parse_only", log_path=workdir / "parse_only.log"),
            )
            commit_db = workdir / "baseline.db"
            targets[SQLITE_COMMIT] = Target(
                SQLITE_COMMIT,
                ServerProcess(
                    "sqlite_commit", log_path=workdir / "sqlite_commit.log", sqlite_path=commit_db
                ),
                count_rows=lambda: baselines.count_rows(commit_db),
            )
            for target in targets.values():
                target.server.start()
                stack.callback(target.server.stop)

            bench = Bench(args)
            for target in targets.values():
                log(f"warming up {target.name}")
                bench.warm_up(target)
            order = list(targets.values())
            for round_no in range(args.rounds):
                for scenario in args.scenarios:
                    for target in order:
                        bench.measure(target, scenario, round_no)
                order = order[1:] + order[:1]
            # Checked while the servers still run: a 2xx must mean already committed.
            stored = {name: _check_stored(t) for name, t in targets.items() if t.count_rows}
            machine["fsync_ms_at_end"] = fsync_ms(workdir)
            machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    report = build_report(args, targets, stored, machine, extra)
    if args.overload:
        from bench.overload import measure_overload

        report["overload"] = measure_overload(args.databases, args)
        report["ok"] = report["ok"] and report["overload"]["ok"]
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    return 0 if report["ok"] else 1


# --redaction: the same server and bodies with the project's redaction on. The bodies
# hold no personal data, as most real traffic: the cost is that of scanning every text.
REDACTED = "sqlite_redacted"


def _redacted_target(workdir: Path, annotation_worker: bool) -> Target:
    from convoscope.redaction import DEFAULT_KINDS
    from convoscope.store.keys import list_projects
    from convoscope.store.privacy import PrivacySettings, RedactionSettings, save_privacy

    url = f"sqlite:///{workdir / 'redacted.db'}"
    target = _convoscope_target(REDACTED, url, workdir, annotation_worker=annotation_worker)
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        for project in list_projects(conn):
            redaction = RedactionSettings(kinds=DEFAULT_KINDS, hash=True)
            save_privacy(conn, project.id, PrivacySettings(redaction=redaction))
    engine.dispose()
    return target


def _redaction_cost(summaries: dict[str, Any], scenarios: Sequence[str]) -> dict[str, Any]:
    """Requests per second and server CPU per request, with and without redaction."""

    def cpu_us(summary: dict[str, Any]) -> float:
        cores = float(summary["cpu_cores"]["server"])
        return round(1e6 * cores / max(float(summary["rps"]), 1e-9), 1)

    cost: dict[str, Any] = {}
    for scenario in scenarios:
        plain, redacted = summaries["sqlite"][scenario], summaries[REDACTED][scenario]
        cost[scenario] = {
            "rps": redacted["rps"],
            "rps_without_redaction": plain["rps"],
            "rps_ratio": round(redacted["rps"] / max(plain["rps"], 1e-9), 3),
            "server_cpu_us_per_request": cpu_us(redacted),
            "server_cpu_us_per_request_without": cpu_us(plain),
        }
    return cost


if __name__ == "__main__":
    sys.exit(main())
