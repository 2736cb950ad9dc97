"""Benchmark of ``convoscope import`` against raw ``executemany`` of the same rows.

For each engine it writes ``--count`` conversations of 4 messages (``POST /conversations``
bodies with their ids and times, as another tool's history would give them) to a JSONL
file, then in child processes of their own:

* runs ``convoscope import FILE --project bench`` into a fresh database: wall time, CPU
  time and peak memory (the child's maximum resident set), and the same command on an
  empty file, which is the command's start-up cost;
* inserts the very rows that import stored (conversations, messages, semantic threads,
  read back from its database) into another fresh database with the driver's raw
  ``executemany`` in one transaction, timing only the ``executemany`` calls and the
  commit: the floor of what storing those rows can cost on this machine.

Prints one JSON object per engine; ``ratio`` is raw seconds over import seconds (1.0:
as fast as raw), ``ratio_after_start`` the same without the command's start-up, and
``cpu_ratio_after_start`` the same in CPU time of the client process (which on
PostgreSQL leaves out the server's).

    python bench/import.py --count 1000000
    python bench/import.py --count 100000 --engines sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convoscope.store import keys as key_store  # noqa: E402
from convoscope.store.engine import make_engine  # noqa: E402
from convoscope.store.migrate import upgrade  # noqa: E402
from convoscope.store.tables import conversations, messages, semantic_threads  # noqa: E402

TABLES = (conversations, messages, semantic_threads)
QUESTIONS = (
    "How do I rotate the API key of project {n}? The old one leaked in a CI log.",
    "Can I export every conversation of the last {n} days to CSV, with feedback?",
    "Why does the webhook for order {n} fire twice when the payment is retried?",
    "Is there a way to restrict dashboard access for viewer {n} to one project?",
)
ANSWER = (
    "Open Settings, then API keys, and click Rotate next to the key. The old key stops "
    "working at once; update CI with the new one (see docs/keys#rotate)."
)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def write_bodies(path: Path, count: int) -> None:
    """``count`` create bodies, a line each, written a thousand at a time."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with path.open("wb") as out:
        chunk: list[bytes] = []
        for n in range(count):
            at = start + timedelta(seconds=n * 7)
            stamp = at.isoformat().replace("+00:00", "Z")
            body = {
                "id": f"conv_{n:09d}",
                "type": "openai",
                "createdAt": stamp,
                "userProperties": {"id": f"u_{n % 50_000}"},
                "properties": {"plan": ("free", "pro", "enterprise")[n % 3]},
                "messages": [
                    {"role": "user", "content": QUESTIONS[n % 4].format(n=n), "createdAt": stamp},
                    {"role": "assistant", "content": ANSWER, "createdAt": stamp},
                    {"role": "user", "content": QUESTIONS[(n + 1) % 4].format(n=n)},
                    {"role": "assistant", "content": ANSWER},
                ],
            }
            chunk.append(orjson.dumps(body) + b"\n")
            if len(chunk) == 1000:
                out.write(b"".join(chunk))
                chunk.clear()
        out.write(b"".join(chunk))


@contextmanager
def databases(engines: Sequence[str], workdir: Path) -> Iterator[dict[str, tuple[str, str]]]:
    """Two fresh databases per engine: one to import into, one for the raw inserts."""
    urls: dict[str, tuple[str, str]] = {}
    cluster = None
    try:
        if "sqlite" in engines:
            urls["sqlite"] = (
                f"sqlite:///{workdir / 'import.db'}",
                f"sqlite:///{workdir / 'raw.db'}",
            )
        if "postgresql" in engines:
            from tests.pgcluster import PostgresCluster, create_database

            workdir.chmod(0o755)  # the server may run as another user
            cluster = PostgresCluster(parent=workdir, settings={"shared_buffers": "512MB"})
            cluster.start()
            urls["postgresql"] = (
                create_database(cluster.url, "bench_import"),
                create_database(cluster.url, "bench_raw"),
            )
        yield urls
    finally:
        if cluster is not None:
            cluster.stop()


def run_child(command: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run ``command``; its wall and CPU seconds, peak memory (MB) and last stdout line."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=errors, cwd=ROOT)
        assert child.stdout is not None
        output = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            raise SystemExit(
                f"{' '.join(command)} failed ({child.returncode}): {errors.read()[-3000:]!r}"
            )
    lines = output.decode().strip().splitlines()
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
        "last_line": lines[-1] if lines else "",  # type: ignore[dict-item]
    }


def run_engine(name: str, urls: tuple[str, str], source: Path, empty: Path) -> dict[str, Any]:
    into, raw_into = urls
    for url in urls:
        engine = make_engine(url, pool_size=1)
        upgrade(engine)
        with engine.begin() as conn:
            key_store.create_project(conn, "bench")
        engine.dispose()
    env = {**os.environ, "CONVOSCOPE_DATABASE_URL": into, "COLUMNS": "120"}
    cli = [sys.executable, "-m", "convoscope.cli", "import"]
    start = run_child([*cli, str(empty), "--project", "bench"], env)
    log(f"{name}: command start-up {start['wall_s']:.2f} s")
    imported = run_child([*cli, str(source), "--project", "bench"], env)
    log(f"{name}: import {imported['wall_s']:.1f} s, peak {imported['peak_mb']:.0f} MB")
    raw = run_child([sys.executable, __file__, "--raw", into, raw_into], dict(os.environ))
    measured = json.loads(str(raw["last_line"]))
    log(f"{name}: raw executemany {measured['seconds']:.1f} s for {measured['rows']} rows")
    after_start = imported["wall_s"] - start["wall_s"]
    import_cpu = imported["cpu_s"] - start["cpu_s"]
    return {
        "import_s": round(imported["wall_s"], 2),
        "import_cpu_s": round(imported["cpu_s"], 2),
        "import_peak_mb": round(imported["peak_mb"]),
        "start_up_s": round(start["wall_s"], 2),
        "raw_s": round(measured["seconds"], 2),
        "raw_rows": measured["rows"],
        "ratio": round(measured["seconds"] / imported["wall_s"], 3),
        "ratio_after_start": round(measured["seconds"] / after_start, 3),
        # The client process's CPU only: on a loaded machine wall time also counts waits.
        "raw_cpu_s": round(measured["cpu_seconds"], 2),
        "cpu_ratio_after_start": round(measured["cpu_seconds"] / import_cpu, 3),
        "import_summary": imported["last_line"],
    }


# --- The raw baseline, in its own process ------------------------------------------------


def stored_columns(table: Any) -> list[str]:
    return [c.name for c in table.columns if c.computed is None]


def raw_copy(source_url: str, target_url: str) -> dict[str, Any]:
    """Insert every row of ``source_url``'s data tables into ``target_url``: one
    transaction, ``executemany`` a chunk at a time; only the inserts and commit timed."""
    if source_url.startswith("sqlite"):
        return _raw_sqlite(source_url, target_url)
    return _raw_postgresql(source_url, target_url)


def _raw_sqlite(source_url: str, target_url: str) -> dict[str, Any]:
    source = sqlite3.connect(source_url.removeprefix("sqlite:///"))
    target = sqlite3.connect(target_url.removeprefix("sqlite:///"), isolation_level=None)
    # The pragmas the server's connections run with (store/engine.py).
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        target.execute(f"PRAGMA {pragma}")
    timed, cpu, rows = 0.0, 0.0, 0
    target.execute("BEGIN IMMEDIATE")
    for table in TABLES:
        columns = stored_columns(table)
        insert = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        cursor = source.execute(f"SELECT {', '.join(columns)} FROM {table.name}")
        while chunk := cursor.fetchmany(20_000):
            started, started_cpu = time.perf_counter(), time.process_time()
            target.executemany(insert, chunk)
            timed += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
            rows += len(chunk)
    started, started_cpu = time.perf_counter(), time.process_time()
    target.execute("COMMIT")
    timed += time.perf_counter() - started
    cpu += time.process_time() - started_cpu
    return {"seconds": timed, "cpu_seconds": cpu, "rows": rows}


def _raw_postgresql(source_url: str, target_url: str) -> dict[str, Any]:
    import psycopg

    from tests.pgcluster import to_conninfo

    timed, cpu, rows = 0.0, 0.0, 0
    with (
        psycopg.connect(to_conninfo(source_url)) as source,
        psycopg.connect(to_conninfo(target_url)) as target,
    ):
        for table in TABLES:
            columns = stored_columns(table)
            json_columns = {c.name for c in table.columns if "JSON" in type(c.type).__name__}
            # JSON travels as text both ways, as the server's driver sends it.
            select = ", ".join(f"{c}::text" if c in json_columns else c for c in columns)
            values = ", ".join("%s::jsonb" if c in json_columns else "%s" for c in columns)
            insert = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({values})"
            with source.cursor(name=f"read_{table.name}") as cursor:
                cursor.execute(f"SELECT {select} FROM {table.name}")
                while chunk := cursor.fetchmany(20_000):
                    started, started_cpu = time.perf_counter(), time.process_time()
                    with target.cursor() as out:
                        out.executemany(insert, chunk)
                    timed += time.perf_counter() - started
                    cpu += time.process_time() - started_cpu
                    rows += len(chunk)
        started, started_cpu = time.perf_counter(), time.process_time()
        target.commit()
        timed += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
    # On PostgreSQL most of the work is the server's, which neither CPU figure counts.
    return {"seconds": timed, "cpu_seconds": cpu, "rows": rows}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="conversations to import")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--workdir", type=Path, default=None, help="where the files go")
    parser.add_argument("--raw", nargs=2, metavar=("FROM", "INTO"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.raw:
        print(json.dumps(raw_copy(*args.raw)))
        return 0
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    results: dict[str, Any] = {"count": args.count, "load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        source, empty = Path(tmp) / "bodies.jsonl", Path(tmp) / "empty.jsonl"
        write_bodies(source, args.count)
        empty.write_bytes(b"")
        log(f"{args.count} conversations, {source.stat().st_size / 1e6:.0f} MB of JSONL")
        with databases(engines, Path(tmp)) as urls:
            for name, pair in urls.items():
                results[name] = run_engine(name, pair, source, empty)
                # Each engine's figures as soon as they are in: a later one may fail.
                log(f"{name}: " + json.dumps(results[name]))
    results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
