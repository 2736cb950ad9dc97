"""convoscope beyond one process, on PostgreSQL, as one JSON object.

    .venv/bin/python bench/scale.py                          # both parts, small
    .venv/bin/python bench/scale.py --workers 1,2 --duration 10 --rounds 3
    .venv/bin/python bench/scale.py --part replica --rows 1000000

Two parts, on one throwaway PostgreSQL cluster (on the disk, so commits reach it):

* ``workers``: ``POST /conversations`` (4 messages each) from ``--concurrency`` keep-alive
  clients for ``--duration`` seconds against ``convoscope serve --workers N`` for each N
  of ``--workers`` and, for N above 1, against N ``convoscope serve`` on ports of their
  own with the clients dealt to them in turn (as behind a load balancer); on a fresh
  database each run, in an order rotated each round, timed only once every process has
  connected to the database. The figure is the median over the rounds, the ratio is
  against one process. Every acknowledged conversation must be stored. Beside each run:
  the cores the servers, PostgreSQL and the client kept busy, how many clients each
  process held, and what the servers' database connections waited for
  (``pg_stat_activity`` and ``pg_locks`` sampled every 20 ms: on average how many
  connections were in each state, and the statements that waited for a lock).
* ``replica``: ``--rows`` conversations (as ``bench/query.py`` makes them), a streaming
  replica made with ``pg_basebackup``, and two servers on the same primary: one reads
  analytics from the primary, the other from the replica
  (``CONVOSCOPE_READ_DATABASE_URL``). While conversations are logged to the primary as
  fast as one server takes them, the same dashboard queries go through each server in
  turn: their p50 on the primary and on the replica, and the ingest rate meanwhile.

On one machine the replica shares the cores with the primary, so this shows that reads
reach the replica and what they cost there, not the relief a replica on a machine of
its own brings.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NamedTuple

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import orjson
import psutil
from sqlalchemy import text

from bench.bodies import BodyFactory
from bench.load import build_requests, run_load
from bench.query import load as load_conversations
from bench.servers import ROOT, free_port
from convoscope.auth import KeyType, display_prefix, generate_key, hash_key
from convoscope.store import keys as key_store
from convoscope.store import make_engine
from convoscope.store.migrate import upgrade
from tests.pgcluster import PostgresCluster, PostgresStandby, create_database, database_url

# The dashboard's questions, as the API gets them.
QUERIES: dict[str, dict[str, Any]] = {
    "conversations_per_day": {
        "select": [
            {"type": "time", "timeUnit": "day", "field": "firstMessageTime"},
            {"type": "aggregation", "aggregation": "count"},
        ]
    },
    "per_type_and_integration": {
        "select": [{"type": "aggregation", "aggregation": "count"}],
        "groupBy": [{"field": "type"}, {"field": "integrationId"}],
    },
    "enterprise_count": {
        "select": [{"type": "aggregation", "aggregation": "count"}],
        "where": {
            "condition": {
                "field": "properties",
                "operator": "jsonContains",
                "value": {"plan": "enterprise"},
            }
        },
    },
    "top_companies": {
        "select": [{"type": "aggregation", "aggregation": "count"}],
        "groupBy": [{"field": "userProperties", "path": ["company"]}],
        "orderBy": [{"field": "count", "direction": "desc"}],
        "limit": 10,
    },
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _api_key(url: str, project_name: str | None = None) -> str:
    """A fresh api key of ``project_name`` (made if None) on a migrated database."""
    engine = make_engine(url, pool_size=1)
    try:
        upgrade(engine)
        key = generate_key()
        with engine.begin() as conn:
            project = (
                key_store.create_project(conn, "bench")
                if project_name is None
                else key_store.get_project(conn, project_name)
            )
            key_store.create_key(
                conn, project, KeyType.API.value, hash_key(key), display_prefix(key)
            )
        return key
    finally:
        engine.dispose()


class Served(NamedTuple):
    port: int
    pid: int


def _tree_cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its live descendants."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


@contextmanager
def _serve(url: str, workdir: Path, *args: str, **settings: str) -> Iterator[Served]:
    """``convoscope serve`` as an operator starts it; yields its port and pid."""
    port = free_port()
    env = {
        **os.environ,
        "CONVOSCOPE_DATABASE_URL": url,
        "CONVOSCOPE_PORT": str(port),
        "CONVOSCOPE_LOG_LEVEL": "warning",
        # The worker's child would annotate the benchmark's conversations meanwhile.
        "CONVOSCOPE_ANNOTATION_WORKER": "false",
        **{f"CONVOSCOPE_{name}": value for name, value in settings.items()},
    }
    with (workdir / f"serve-{port}.log").open("ab") as server_log:
        server = subprocess.Popen(
            [sys.executable, "-m", "convoscope.cli", "serve", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                tail = Path(server_log.name).read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the server did not start:\n{tail}")
            time.sleep(0.1)
        yield Served(port, server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


_Processes = dict[tuple[int, float], tuple[int, str, float]]


def _cpu_of_every_process() -> _Processes:
    """(pid, start time) -> (parent pid, name, user and system CPU seconds) of every
    process."""
    found = {}
    for process in psutil.process_iter(["ppid", "name", "create_time", "cpu_times"]):
        info = process.info
        if info["cpu_times"] is None:
            continue
        times = info["cpu_times"]
        found[(process.pid, info["create_time"])] = (
            info["ppid"],
            info["name"],
            times.user + times.system,
        )
    return found


def _cpu_of_the_rest(before: _Processes, after: _Processes, ours: set[int]) -> dict[str, Any]:
    """CPU seconds between two ``_cpu_of_every_process`` of the processes not in
    ``ours``: the kernel's threads, and everything else on the machine (by name, the
    busiest three)."""
    rest: dict[str, Any] = {"kernel threads": 0.0, "other processes": 0.0}
    names: defaultdict[str, float] = defaultdict(float)
    for key, (ppid, name, cpu) in after.items():
        pid = key[0]
        if pid in ours:
            continue
        spent = cpu - before.get(key, (ppid, name, 0.0))[2]
        if ppid == 2 or pid == 2:
            rest["kernel threads"] += spent
        else:
            rest["other processes"] += spent
            names[name] += spent
    rest["busiest others"] = dict(sorted(names.items(), key=lambda kv: -kv[1])[:3])
    return rest


def _tree_pids(pid: int) -> set[int]:
    try:
        root = psutil.Process(pid)
        return {pid, *(child.pid for child in root.children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()


def _postgres_cpu_by_kind(postmaster_pid: int, sampler_pid: int | None) -> dict[str, float]:
    """CPU seconds of the cluster's processes by kind: the servers' backends, this
    benchmark's sampler, each background process by its title (``autovacuum worker``,
    ``walwriter``…), and ``exited`` for the children PostgreSQL has reaped."""
    cpu: defaultdict[str, float] = defaultdict(float)
    try:
        root = psutil.Process(postmaster_pid)
        times = root.cpu_times()
        cpu["postmaster"] += times.user + times.system
        cpu["exited"] += times.children_user + times.children_system
        children = root.children()
    except psutil.NoSuchProcess:
        return cpu
    for child in children:
        try:
            times = child.cpu_times()
            title = " ".join(child.cmdline()).removeprefix("postgres: ")
        except psutil.NoSuchProcess:
            continue
        if child.pid == sampler_pid:
            kind = "sampler"
        elif "(" in title:  # user database host(port) state: a client's backend
            kind = "backends"
        else:
            kind = title.split("   ")[0].strip()
        cpu[kind] += times.user + times.system
    return cpu


def _reset_statements(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
            conn.execute(text("SELECT pg_stat_statements_reset()"))
    finally:
        engine.dispose()


def _costliest_statements(url: str, conversations: int) -> list[dict[str, Any]]:
    """The statements that took the most of PostgreSQL's time in the database since the
    reset, in microseconds per conversation acknowledged (lock waits included)."""
    engine = make_engine(url, pool_size=1)
    per = max(conversations, 1)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 60), calls,"
                    " total_exec_time, rows FROM pg_stat_statements"
                    " WHERE dbid = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                    " ORDER BY total_exec_time DESC LIMIT 12"
                )
            ).all()
    finally:
        engine.dispose()
    return [
        {
            "statement": query,
            "calls_per_conversation": round(calls / per, 3),
            "us_per_conversation": round(total_ms * 1000 / per, 1),
            "us_per_call": round(total_ms * 1000 / max(calls, 1), 1),
        }
        for query, calls, total_ms, _ in rows
    ]


def _stored_conversations(url: str) -> int:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM conversations")).scalar_one())
    finally:
        engine.dispose()


class WaitSampler:
    """What the servers' database connections are doing, sampled while a run goes on.

    Every ``interval`` seconds, one row per connection of the servers (``pg_stat_activity``
    of the database, but for this sampler) counted by state and wait event, and the locks
    waited for (``pg_locks`` not granted) by type: whether the writers wait for the disk
    (``IO``/``WalSync``), for each other's rows (``Lock``/``transactionid``, ``tuple``),
    or for their clients (``Client``/``ClientRead``, ``idle``).
    """

    def __init__(self, url: str, served: Sequence[Served], interval: float = 0.02) -> None:
        self._engine = make_engine(url, pool_size=1)
        self._served = served
        # The clients' connections each server process holds, as first seen in the run.
        self.clients_per_process: list[int] = []
        # Its own CPU, which the client's figure leaves out.
        self.cpu_seconds = 0.0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.samples = 0
        # Its own backend, whose CPU the cluster's figure would otherwise include.
        self.backend_pid: int | None = None
        self.started = threading.Event()
        self.states: Counter[str] = Counter()
        self.locks: Counter[str] = Counter()
        # The statements that waited for a lock, by their start.
        self.blocked: Counter[str] = Counter()

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        self.started.wait(30)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._engine.dispose()

    def _run(self) -> None:
        started = time.thread_time()
        try:
            self._sample()
        finally:
            self.cpu_seconds = time.thread_time() - started

    def _sample(self) -> None:
        activity = text(
            "SELECT state, wait_event_type, wait_event,"
            " CASE WHEN wait_event_type = 'Lock' THEN left(query, 40) END"
            " FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        waited = text(
            "SELECT locktype, mode FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE NOT l.granted AND a.datname = current_database()"
        )
        with self._engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            self.backend_pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
            self.started.set()
            while not self._stop.wait(self._interval):
                if not self.clients_per_process and self.samples == 10:
                    self.clients_per_process = _clients_per_process(self._served)
                for state, wait_type, wait, statement in conn.execute(activity):
                    where = f"{wait_type}/{wait}" if wait_type else "cpu"
                    self.states[f"{state} {where}"] += 1
                    if statement is not None:
                        self.blocked[statement] += 1
                for locktype, mode in conn.execute(waited):
                    self.locks[f"{locktype} {mode}"] += 1
                self.samples += 1

    def report(self) -> dict[str, Any]:
        """Connections in each state on average over the samples, largest first."""
        per = max(self.samples, 1)
        return {
            "clients_per_process": self.clients_per_process,
            "samples": self.samples,
            "connections": {k: round(v / per, 2) for k, v in self.states.most_common()},
            "lock_waits": {k: round(v / per, 2) for k, v in self.locks.most_common()},
            "blocked_statements": {k: round(v / per, 2) for k, v in self.blocked.most_common(3)},
        }


def _clients_per_process(served: Sequence[Served]) -> list[int]:
    """How many client connections each server process has accepted (those of
    ``--workers N`` all accept from one listening socket), largest first."""
    counts = []
    for one, held in _tcp_of_processes(served):
        accepted = sum(
            1 for c in held if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == one.port
        )
        if accepted:
            counts.append(accepted)
    return sorted(counts, reverse=True)


def _tcp_of_processes(served: Sequence[Served]) -> Iterator[tuple[Served, list[Any]]]:
    """Each server process (a ``serve`` and its ``--workers`` children) with its TCP
    connections; a process gone meanwhile is left out."""
    for one in served:
        root = psutil.Process(one.pid)
        for process in [root, *root.children(recursive=True)]:
            try:
                yield one, process.net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue


def _bodies(tag: str, n: int, key: str, port: int) -> list[bytes]:
    factory = BodyFactory(seed=len(tag))
    bodies = [factory.conversation(tag, i)[0] for i in range(n)]
    return build_requests(port, "/conversations", bodies, f"Bearer {key}")


class Shape(NamedTuple):
    """How ``processes`` server processes take the clients: ``shared`` is one
    ``convoscope serve --workers N`` (every process accepts from one listening socket),
    otherwise N ``convoscope serve`` on ports of their own with the clients' connections
    dealt to them in turn, as behind a load balancer."""

    processes: int
    shared: bool

    @property
    def name(self) -> str:
        if self.processes == 1:
            return "1"
        return f"{self.processes} --workers" if self.shared else f"{self.processes} ports"


def _shapes(counts: Sequence[int]) -> list[Shape]:
    shapes = []
    for n in counts:
        shapes.append(Shape(n, shared=True))
        if n > 1:
            shapes.append(Shape(n, shared=False))
    return shapes


@contextmanager
def _serve_shape(
    url: str, workdir: Path, shape: Shape, settings: dict[str, str]
) -> Iterator[list[Served]]:
    with ExitStack() as stack:
        if shape.shared:
            args = ("--workers", str(shape.processes))
            yield [stack.enter_context(_serve(url, workdir, *args, **settings))]
        else:
            yield [
                stack.enter_context(_serve(url, workdir, **settings))
                for _ in range(shape.processes)
            ]


def _wait_for_processes(served: Sequence[Served], processes: int, database_port: int) -> None:
    """Until ``processes`` server processes have connected to the database: /healthz
    answered from one of ``--workers N`` says nothing of the others, and a process still
    starting would neither take clients nor leave the cores to the rest."""
    deadline = time.monotonic() + 180
    while True:
        ready = sum(
            1
            for _, held in _tcp_of_processes(served)
            if any(c.raddr and c.raddr.port == database_port for c in held)
        )
        if ready >= processes:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{ready} of {processes} server processes started")
        time.sleep(0.2)


def measure_workers(
    cluster: PostgresCluster, workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    shapes = _shapes(args.workers)
    # The same for every shape: each process gets as many writers as one process does.
    settings = (
        {} if args.write_connections is None else {"WRITE_CONNECTIONS": str(args.write_connections)}
    )
    runs: dict[Shape, list[float]] = {shape: [] for shape in shapes}
    # Where the cores went during each timed run, in CPU seconds per second of wall time:
    # on one machine the server processes share two cores with PostgreSQL and the client.
    cpu: dict[Shape, list[dict[str, float]]] = {shape: [] for shape in shapes}
    waits: dict[Shape, list[dict[str, Any]]] = {shape: [] for shape in shapes}
    for round_no in range(args.rounds):
        order = shapes[round_no % len(shapes) :] + shapes[: round_no % len(shapes)]
        for shape in order:
            kind = "workers" if shape.shared else "ports"
            url = create_database(cluster.url, f"{kind}_{shape.processes}_{round_no}")
            key = _api_key(url)
            with _serve_shape(url, workdir, shape, settings) as served:
                _wait_for_processes(served, shape.processes, cluster.port)
                ports = [s.port for s in served]
                # Serialised before the clock starts: the client only writes bytes.
                warm = _bodies(f"warm{round_no}", 2_000, key, ports[0])
                run_load(ports, warm, concurrency=args.concurrency, duration_s=args.warmup)
                requests = _bodies(f"{shape.name}r{round_no}", args.bodies, key, ports[0])
                if args.statements:
                    _reset_statements(url)
                machine_before = _machine_busy_seconds()
                everyone_before = _cpu_of_every_process()
                before = (
                    sum(_tree_cpu_seconds(s.pid) for s in served),
                    _tree_cpu_seconds(cluster.postmaster_pid),
                    time.process_time(),
                    time.perf_counter(),
                )
                with WaitSampler(url, served) as sampler:
                    kinds_before = _postgres_cpu_by_kind(
                        cluster.postmaster_pid, sampler.backend_pid
                    )
                    started = time.perf_counter()
                    result = run_load(
                        ports, requests, concurrency=args.concurrency, duration_s=args.duration
                    )
                    kinds_after = _postgres_cpu_by_kind(cluster.postmaster_pid, sampler.backend_pid)
                    timed = time.perf_counter() - started
                kinds = {
                    kind: seconds - kinds_before.get(kind, 0.0)
                    for kind, seconds in kinds_after.items()
                }
                wall = time.perf_counter() - before[3]
                ours = {os.getpid(), *_tree_pids(cluster.postmaster_pid)}
                for server in served:
                    ours |= _tree_pids(server.pid)
                rest = _cpu_of_the_rest(everyone_before, _cpu_of_every_process(), ours)
                client_cpu = time.process_time() - before[2] - sampler.cpu_seconds
                cpu[shape].append(
                    {
                        "servers": (sum(_tree_cpu_seconds(s.pid) for s in served) - before[0])
                        / wall,
                        "postgresql": (_tree_cpu_seconds(cluster.postmaster_pid) - before[1])
                        / wall,
                        "client": client_cpu / wall,
                        "machine": (_machine_busy_seconds() - machine_before) / wall,
                        "kernel threads": rest["kernel threads"] / wall,
                        "other processes": rest["other processes"] / wall,
                        # Every process's CPU, not only these three's, per conversation.
                        "machine_ms_per_conversation": (
                            (_machine_busy_seconds() - machine_before) * 1000 / max(result.ok, 1)
                        ),
                    }
                )
                waits[shape].append(
                    {
                        **sampler.report(),
                        "busiest_other_processes_cores": {
                            name: round(seconds / wall, 2)
                            for name, seconds in rest["busiest others"].items()
                        },
                        "postgresql_cores_by_kind": {
                            kind: round(seconds / timed, 3)
                            for kind, seconds in sorted(kinds.items(), key=lambda kv: -kv[1])
                            if seconds / timed >= 0.005
                        },
                    }
                )
                if args.statements:
                    waits[shape][-1]["statements"] = _costliest_statements(url, result.ok)
                acknowledged = result.ok
            stored = _stored_conversations(url)
            if result.failed or stored < acknowledged:
                raise RuntimeError(
                    f"{shape.name}: {result.failed} failed, {acknowledged} "
                    f"acknowledged but {stored} stored"
                )
            runs[shape].append(result.rps)
            log(
                f"{shape.name} round {round_no + 1}: {result.rps:.0f} conversations/s, "
                f"clients per process {waits[shape][-1]['clients_per_process']}"
            )
    medians = {shape: statistics.median(rates) for shape, rates in runs.items()}
    one = medians.get(Shape(1, shared=True))
    return {
        shape.name: {
            "conversations_per_s": round(rate),
            "runs": [round(r) for r in runs[shape]],
            "ratio_to_one_process": round(rate / one, 2) if one else None,
            "cores_busy": {
                part: round(statistics.median(run[part] for run in cpu[shape]), 2)
                for part in (
                    "servers",
                    "postgresql",
                    "client",
                    "kernel threads",
                    "other processes",
                    "machine",
                )
            },
            "machine_ms_per_conversation": round(
                statistics.median(run["machine_ms_per_conversation"] for run in cpu[shape]), 2
            ),
            # The rate if the machine's every core went to this at that CPU per
            # conversation, and its ratio to one process's measured rate.
            "cpu_bound_conversations_per_s": round(_cpu_bound(cpu[shape])),
            "cpu_bound_ratio_to_one_process": (
                round(_cpu_bound(cpu[shape]) / one, 2) if one else None
            ),
            "waits": waits[shape],
        }
        for shape, rate in medians.items()
    }


def _machine_busy_seconds() -> float:
    """CPU seconds the machine's cores have spent running anything since boot (user,
    nice, system and interrupts; not idle, I/O wait or time stolen by a hypervisor)."""
    times = psutil.cpu_times()
    busy = ("user", "nice", "system", "irq", "softirq")
    return float(sum(getattr(times, name, 0.0) for name in busy))


def _cpu_bound(runs: Sequence[dict[str, float]]) -> float:
    cost = statistics.median(run["machine_ms_per_conversation"] for run in runs)
    return (os.cpu_count() or 1) * 1000 / cost if cost else 0.0


def _wait_for_replay(primary_url: str, standby: PostgresStandby) -> None:
    primary = make_engine(primary_url, pool_size=1)
    replica = make_engine(database_url(standby.url, "postgres"), pool_size=1)
    try:
        with primary.connect() as conn:
            target = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
        deadline = time.monotonic() + 600
        while True:
            with replica.connect() as conn:
                behind = conn.execute(
                    text("SELECT pg_wal_lsn_diff(:target, pg_last_wal_replay_lsn())"),
                    {"target": target},
                ).scalar_one()
            if behind <= 0 or time.monotonic() > deadline:
                return
            time.sleep(0.2)
    finally:
        primary.dispose()
        replica.dispose()


def _time_query(client: httpx.Client, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = client.post("/query/conversations", content=orjson.dumps(body))
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"query failed: {response.status_code} {response.text[:300]}")
    return elapsed * 1000


def measure_replica(
    cluster: PostgresCluster, workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    url = create_database(cluster.url, "replica_bench")
    engine = make_engine(url, pool_size=1)
    upgrade(engine)
    load_conversations(engine, args.rows, messages=False)
    engine.dispose()
    key = _api_key(url, "bench")
    standby = PostgresStandby(cluster)
    standby.start()
    try:
        _wait_for_replay(url, standby)
        replica_url = database_url(standby.url, "replica_bench")
        with (
            _serve(url, workdir) as primary,
            _serve(url, workdir, READ_DATABASE_URL=replica_url) as replica,
        ):
            primary_port, replica_port = primary.port, replica.port
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            clients = {
                "primary": httpx.Client(
                    base_url=f"http://127.0.0.1:{primary_port}", headers=headers, timeout=120
                ),
                "replica": httpx.Client(
                    base_url=f"http://127.0.0.1:{replica_port}", headers=headers, timeout=120
                ),
            }
            for client in clients.values():  # warm caches and plans on both
                for body in QUERIES.values():
                    _time_query(client, body)
            requests = _bodies("ingest", args.bodies, key, primary_port)
            ingest: dict[str, Any] = {}

            def ingest_load() -> None:
                result = run_load(
                    primary_port, requests, concurrency=4, duration_s=args.duration * 4
                )
                ingest["conversations_per_s"] = round(result.rps)
                ingest["failed"] = result.failed

            loader = threading.Thread(target=ingest_load)
            loader.start()
            times: dict[str, dict[str, list[float]]] = {
                name: {"primary": [], "replica": []} for name in QUERIES
            }
            deadline = time.monotonic() + args.duration * 4
            while time.monotonic() < deadline and loader.is_alive():
                for name, body in QUERIES.items():
                    for side, client in clients.items():
                        times[name][side].append(_time_query(client, body))
            loader.join()
            for client in clients.values():
                client.close()
    finally:
        standby.stop()
    return {
        "rows": args.rows,
        "ingest_on_primary_meanwhile": ingest,
        "p50_ms": {
            name: {
                side: round(statistics.median(values), 1) if values else None
                for side, values in sides.items()
            }
            for name, sides in times.items()
        },
        "samples_per_query": min(len(v["primary"]) for v in times.values()),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("workers", "replica", "both"), default="both")
    parser.add_argument(
        "--workers",
        type=lambda value: [int(part) for part in value.split(",")],
        default=[1, 2],
        help="server process counts to compare, e.g. 1,2",
    )
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per timed run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--bodies", type=int, default=40_000, help="bodies made per run")
    parser.add_argument("--rows", type=int, default=100_000, help="conversations for replica")
    parser.add_argument(
        "--write-connections",
        type=int,
        default=None,
        help="CONVOSCOPE_WRITE_CONNECTIONS of every server process (default: the server's)",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="load pg_stat_statements and report each run's costliest statements "
        "(it costs PostgreSQL CPU itself: compare such runs only with each other)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report: dict[str, Any] = {"cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="convoscope-scale-") as tmp:
        workdir = Path(tmp)
        settings = (
            {"shared_preload_libraries": "'pg_stat_statements'", "pg_stat_statements.max": "500"}
            if args.statements
            else {}
        )
        with PostgresCluster(settings=settings) as cluster:
            if args.part in ("workers", "both"):
                report["workers"] = measure_workers(cluster, workdir, args)
            if args.part in ("replica", "both"):
                report["replica"] = measure_replica(cluster, workdir, args)
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
