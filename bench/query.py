"""Benchmark of the query engine against hand-written SQL, on SQLite and PostgreSQL.

Builds ``--rows`` conversations (2–8 messages each, over 90 days, realistic properties
and user properties, 20% with feedback, search and message events) in a fresh database
of each engine, then times the queries a dashboard makes. Each query runs through the
DSL (parse, compile, execute, shape rows: what the endpoint does, minus HTTP) and as a
hand-written SQL query giving the same answer, alternately, in the same run. Finally it
exports every conversation to CSV in a child process (for a clean peak-memory figure).

Prints one JSON object: per engine and query the p50 in milliseconds of both and the
ratio DSL / hand-written; the export's rows per second and peak RSS.

    python bench/query.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from convoscope.api import parse_body
from convoscope.api.query import compile_on  # noqa: E402
from convoscope.indexing import path_indexes  # noqa: E402
from convoscope.query.execute import fetch_page  # noqa: E402
from convoscope.query.export import CsvExport, unpacked_keys  # noqa: E402
from convoscope.query.fields import CONVERSATIONS, FEEDBACK, Resource  # noqa: E402
from convoscope.query.parse import parse_query  # noqa: E402
from convoscope.query.searches import top_search_queries, weekly_search_users  # noqa: E402
from convoscope.schemas.query import QueryRequest  # noqa: E402
from convoscope.store import keys as key_store  # noqa: E402
from convoscope.store.engine import make_engine  # noqa: E402
from convoscope.store.migrate import upgrade  # noqa: E402
from convoscope.store.statistics import refresh_statistics  # noqa: E402

END = datetime(2025, 6, 30, tzinfo=UTC)
DAYS = 90
PLANS = ["free"] * 6 + ["pro"] * 3 + ["team", "enterprise"]
SOURCES = ["google", "github", "newsletter", "direct", "docs"]
LOCALES = ["en", "en", "en", "de", "fr", "ja", "es"]
INTEGRATIONS = ["int_web", "int_api", "int_slack", "int_copilot"]
QUERIES = [f"how to {verb} {noun}" for verb in ("rotate", "create", "delete", "list", "debug",
           "configure", "export", "import") for noun in ("api key", "webhook", "project",
           "user", "token", "dashboard", "integration", "billing", "sso", "widget")]  # fmt: skip


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- Data ------------------------------------------------------------------------------


def _ts(value: datetime, dialect: str) -> str:
    text_value = value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return text_value if dialect == "sqlite" else text_value + "+00"


def generate(
    n: int, project_id: str, organization_id: str, dialect: str, *, messages: bool, seed: int = 7
) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """Batches of ``(table, rows)`` in column order of ``COLUMNS``."""
    rng = random.Random(seed)
    batch: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
    start = END - timedelta(days=DAYS)
    for i in range(n):
        cid = f"conv_{i:08d}"
        first = start + timedelta(seconds=rng.random() * DAYS * 86400)
        count = rng.randint(2, 8)
        kind = rng.choices(["openai", "support_ticket", "support_copilot"], [8, 1, 1])[0]
        user = f"anon-{int(rng.paretovariate(1.2) * 1000) % 200_000}"
        plan = rng.choice(PLANS)
        properties = {
            "plan": plan,
            "page": f"/docs/{rng.randint(1, 40)}",
            "locale": rng.choice(LOCALES),
            "utm": {"source": rng.choice(SOURCES)},
        }
        user_properties: dict[str, Any] = {
            "id": user,
            "identificationType": "COOKIED",
            "company": f"company-{int(rng.paretovariate(1.1)) % 5000}",
        }
        if rng.random() < 0.1:
            user_properties["userId"] = rng.randint(1, 50_000)
        integration = rng.choice(INTEGRATIONS)
        times = [first + timedelta(seconds=20 * k) for k in range(count)]
        user_role = "user" if kind == "openai" else "customer"
        agent_role = "assistant" if kind == "openai" else "agent"
        batch["conversations"].append(
            (project_id, cid, kind, organization_id, integration,
             orjson.dumps(properties).decode(), orjson.dumps(user_properties).decode(),
             _ts(first, dialect), _ts(times[-1], dialect), _ts(first, dialect),
             _ts(times[-1], dialect), count, (count + 1) // 2)
        )  # fmt: skip
        if messages:
            for k in range(count):
                role = user_role if k % 2 == 0 else agent_role
                content = orjson.dumps(f"{'question' if k % 2 == 0 else 'answer'} {k} of {cid}")
                batch["messages"].append(
                    (project_id, f"{cid}_m{k}", cid, k, role, content.decode(),
                     _ts(times[k], dialect), _ts(times[k], dialect))
                )  # fmt: skip
        if rng.random() < 0.2:
            negative = rng.random() < 0.3
            reasons = [{"label": "inaccurate", "details": "wrong"}] if negative else None
            at = _ts(times[1] + timedelta(minutes=1), dialect)
            batch["feedback"].append(
                (project_id, f"fb_{i:08d}", "negative" if negative else "positive",
                 f"{cid}_m1", cid, organization_id, integration,
                 None if reasons is None else orjson.dumps(reasons).decode(),
                 orjson.dumps(user_properties).decode(), at, at)
            )  # fmt: skip
        if rng.random() < 0.5:
            query = QUERIES[min(int(rng.paretovariate(0.8)) - 1, len(QUERIES) - 1)]
            batch["events"].append(
                (project_id, f"evs_{i:08d}", "search", "search_query_submitted",
                 organization_id, integration, None, None, query,
                 orjson.dumps({"page": properties["page"]}).decode(),
                 orjson.dumps({"id": user}).decode(), _ts(first - timedelta(minutes=2), dialect))
            )  # fmt: skip
        if rng.random() < 0.3:
            batch["events"].append(
                (project_id, f"evm_{i:08d}", "message", "message_copied", organization_id,
                 integration, f"{cid}_m1", cid, None, None,
                 orjson.dumps({"id": user}).decode(), _ts(times[1], dialect))
            )  # fmt: skip
        if len(batch["conversations"]) >= 20_000:
            for table, rows in batch.items():
                if rows:
                    yield table, rows
            batch = {t: [] for t in COLUMNS}
    for table, rows in batch.items():
        if rows:
            yield table, rows


COLUMNS: dict[str, tuple[str, ...]] = {
    "conversations": (
        "project_id", "id", "type", "organization_id", "integration_id", "properties",
        "user_properties", "created_at", "updated_at", "first_message_time",
        "last_message_time", "message_count", "user_message_count",
    ),
    "messages": (
        "project_id", "id", "conversation_id", "position", "role", "content", "created_at",
        "updated_at",
    ),
    "feedback": (
        "project_id", "id", "type", "message_id", "conversation_id", "organization_id",
        "integration_id", "reasons", "user_properties", "created_at", "updated_at",
    ),
    "events": (
        "project_id", "id", "entity_type", "type", "organization_id", "integration_id",
        "message_id", "conversation_id", "search_query", "properties", "user_properties",
        "created_at",
    ),
}  # fmt: skip


def load(engine: Engine, n: int, *, messages: bool) -> str:
    """Fill a migrated database; return the project id."""
    with engine.begin() as conn:
        project = key_store.create_project(conn, "bench")
    dialect = engine.dialect.name
    raw: Any = engine.raw_connection()
    started = time.perf_counter()
    try:
        cursor = raw.cursor()
        for table, rows in generate(
            n, project.id, project.organization_id, dialect, messages=messages
        ):
            columns = COLUMNS[table]
            if dialect == "postgresql":
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(columns))
                # The engine's connections run in autocommit mode (SQLAlchemy emits BEGIN
                # itself): without a transaction every row would be its own fsync.
                cursor.execute("BEGIN")
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
                )
                cursor.execute("COMMIT")
        raw.commit()
        if dialect == "postgresql":
            # VACUUM, as autovacuum would soon: a freshly copied table has no visibility
            # map, and every index-only scan would visit the heap (weekly search users:
            # 523 ms before, 89 ms after).
            raw.driver_connection.autocommit = True
            cursor.execute("VACUUM")
            raw.driver_connection.autocommit = False
    finally:
        raw.close()
    # The statistics the server itself gathers as its tables grow (store/statistics.py).
    with engine.connect() as conn:
        refresh_statistics(conn)
    log(f"{dialect}: loaded {n} conversations in {time.perf_counter() - started:.0f}s")
    return project.id


# --- Queries -----------------------------------------------------------------------------


class Case:
    def __init__(
        self,
        name: str,
        dsl: Callable[[Connection, str], Any],
        hand: dict[str, str],
    ) -> None:
        self.name = name
        self.dsl = dsl
        self.hand = hand


def _dsl(resource: Resource, body: dict[str, Any]) -> Callable[[Connection, str], Any]:
    def run(conn: Connection, project_id: str) -> Any:
        query = parse_query(resource, parse_body(QueryRequest, body))
        rows, _total = fetch_page(conn, compile_on(conn, query, project_id, with_total=True))
        return rows

    return run


TOP_COMPANIES = {
    "select": [{"type": "aggregation", "aggregation": "count"}],
    "groupBy": [{"field": "userProperties", "path": ["company"]}],
    "orderBy": [{"field": "count", "direction": "desc"}],
}


def _top_companies(sqlite_value: str) -> dict[str, str]:
    """Hand-written top companies; on SQLite, ``sqlite_value`` reads the company."""
    query = (
        "SELECT {} AS company, count(*) AS n FROM conversations WHERE project_id = :p "
        "GROUP BY company ORDER BY n DESC, company LIMIT 1000"
    )
    # NULLIF: JSON null and an absent key are one group, as in the report.
    return {
        "sqlite": query.format(sqlite_value),
        "postgresql": query.format("NULLIF(user_properties -> 'company', 'null')"),
    }


CASES = [
    Case(
        "conversations_per_day",
        _dsl(
            CONVERSATIONS,
            {
                "select": [
                    {"type": "time", "timeUnit": "day", "field": "firstMessageTime"},
                    {"type": "aggregation", "aggregation": "count"},
                ]
            },
        ),
        {
            # The day as migration 0007 generates and indexes it; the DSL reads it too.
            d: "SELECT first_message_day AS day, count(*) FROM conversations "
            "WHERE project_id = :p GROUP BY day ORDER BY day"
            for d in ("sqlite", "postgresql")
        },
    ),
    Case(
        "per_type_and_integration",
        _dsl(
            CONVERSATIONS,
            {
                "select": [{"type": "aggregation", "aggregation": "count"}],
                "groupBy": [{"field": "type"}, {"field": "integrationId"}],
            },
        ),
        {
            d: "SELECT type, integration_id, count(*) FROM conversations WHERE project_id = :p "
            "GROUP BY type, integration_id ORDER BY type, integration_id"
            for d in ("sqlite", "postgresql")
        },
    ),
    Case(
        "feedback_ratio_per_week",
        _dsl(
            FEEDBACK,
            {
                "select": [
                    {"type": "time", "timeUnit": "week", "field": "createdAt"},
                    {"type": "aggregation", "aggregation": "count"},
                ],
                "groupBy": [{"field": "type"}],
            },
        ),
        {
            "sqlite": "SELECT date(substr(created_at, 1, 10), 'weekday 0', '-6 days') AS week, "
            "type, count(*) FROM feedback WHERE project_id = :p GROUP BY week, type "
            "ORDER BY week, type",
            "postgresql": "SELECT date_trunc('week', created_at AT TIME ZONE 'UTC') AS week, "
            "type, count(*) FROM feedback WHERE project_id = :p GROUP BY week, type "
            "ORDER BY week, type",
        },
    ),
    Case(
        "top_user_property_values",
        _dsl(CONVERSATIONS, TOP_COMPANIES),
        _top_companies("json_extract(user_properties, '$.company')"),
    ),
    Case(
        "json_contains_count",
        _dsl(
            CONVERSATIONS,
            {
                "select": [{"type": "aggregation", "aggregation": "count"}],
                "where": {
                    "condition": {
                        "field": "properties",
                        "operator": "jsonContains",
                        "value": {"plan": "enterprise"},
                    }
                },
            },
        ),
        {
            # The substring test first, as the compiler writes it: JSON columns hold
            # orjson's text, which spells "enterprise" one way only.
            "sqlite": "SELECT count(*) FROM conversations WHERE project_id = :p "
            "AND instr(properties, '\"enterprise\"') > 0 "
            "AND json_extract(properties, '$.plan') = 'enterprise'",
            "postgresql": "SELECT count(*) FROM conversations WHERE project_id = :p "
            """AND properties @> '{"plan": "enterprise"}'""",
        },
    ),
    Case(
        "top_search_queries",
        lambda conn, p: top_search_queries(conn, p, None),
        {
            d: "SELECT search_query, count(*) AS n FROM events WHERE project_id = :p "
            "AND entity_type = 'search' AND search_query IS NOT NULL GROUP BY search_query "
            "ORDER BY n DESC, search_query LIMIT 100"
            for d in ("sqlite", "postgresql")
        },
    ),
    Case(
        "weekly_search_users",
        lambda conn, p: weekly_search_users(conn, p, None),
        {
            # The generated columns and the partial index of migration 0005, as the
            # report uses them.
            d: "SELECT created_week, count(DISTINCT user_identity) FROM events "
            "WHERE project_id = :p AND entity_type = 'search' GROUP BY created_week "
            "ORDER BY created_week"
            for d in ("sqlite", "postgresql")
        },
    ),
]


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


COMPANY_INDEX = path_indexes.define("conversations", "userProperties", ["company"])


def indexed_cases() -> list[Case]:
    """The queries timed again once ``convoscope indexes create conversations
    userProperties company`` has run; the hand-written SQL reads the same index."""
    return [
        Case(
            "top_user_property_values_indexed",
            _dsl(CONVERSATIONS, TOP_COMPANIES),
            _top_companies(COMPANY_INDEX.generated_column),
        )
    ]


def time_queries(engine: Engine, project_id: str, repeat: int) -> dict[str, Any]:
    out = time_cases(engine, project_id, repeat, CASES)
    log(f"{engine.dialect.name}: indexing {COMPANY_INDEX.label}")
    started = time.perf_counter()
    path_indexes.create(engine, COMPANY_INDEX)
    out["index_user_property_s"] = round(time.perf_counter() - started, 2)
    out |= time_cases(engine, project_id, repeat, indexed_cases())
    return out


def time_cases(
    engine: Engine, project_id: str, repeat: int, cases: Sequence[Case]
) -> dict[str, Any]:
    dialect = engine.dialect.name
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        for case in cases:
            sql = text(case.hand[dialect])
            dsl_ms: list[float] = []
            hand_ms: list[float] = []
            dsl_rows = case.dsl(conn, project_id)  # warm the cache of both
            hand_rows = conn.execute(sql, {"p": project_id}).all()
            if len(dsl_rows) != len(hand_rows):
                raise AssertionError(f"{case.name}: {len(dsl_rows)} != {len(hand_rows)} rows")
            for _ in range(repeat):
                ms, _ = _timed(lambda: case.dsl(conn, project_id))  # noqa: B023
                dsl_ms.append(ms)
                ms, _ = _timed(lambda: conn.execute(sql, {"p": project_id}).all())  # noqa: B023
                hand_ms.append(ms)
            dsl, hand = statistics.median(dsl_ms), statistics.median(hand_ms)
            out[case.name] = {
                "dsl_p50_ms": round(dsl, 1),
                "hand_p50_ms": round(hand, 1),
                "ratio": round(dsl / hand, 3),
                "rows": len(dsl_rows),
            }
            log(f"{dialect}: {case.name} {out[case.name]}")
    return out


# --- Export --------------------------------------------------------------------------------


def export_child(url: str, project_id: str) -> None:
    """Export every conversation as the endpoint does; print rows/s and peak RSS."""
    engine = make_engine(url, pool_size=1)
    query = parse_query(CONVERSATIONS, parse_body(QueryRequest, {}))
    started = time.perf_counter()
    export = CsvExport(
        engine, lambda conn: compile_on(conn, query, project_id), unpacked_keys(query), 600
    )
    export.prepare()
    size = lines = 0
    for chunk in export:
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    rows = lines - 1
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": round(seconds, 2),
                "rows_per_s": round(rows / seconds),
                "megabytes": round(size / 2**20, 1),
                "peak_rss_mb": round(peak, 1),
            }
        )
    )


def measure_export(url: str, project_id: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--export-child", url, project_id],
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


# --- Engines ---------------------------------------------------------------------------


@contextmanager
def databases(engines: Sequence[str], workdir: Path) -> Iterator[dict[str, str]]:
    urls: dict[str, str] = {}
    cluster = None
    try:
        if "sqlite" in engines:
            urls["sqlite"] = f"sqlite:///{workdir / 'bench.db'}"
        if "postgresql" in engines:
            from tests.pgcluster import PostgresCluster, create_database

            # The server may run as another user (postgres, when we are root).
            workdir.chmod(0o755)

            cluster = PostgresCluster(
                parent=workdir,
                settings={"shared_buffers": "512MB", "work_mem": "64MB"},
            )
            cluster.start()
            urls["postgresql"] = create_database(cluster.url, "convoscope_bench")
        yield urls
    finally:
        if cluster is not None:
            cluster.stop()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="conversations to build")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query")
    parser.add_argument("--no-messages", action="store_true", help="skip the messages table")
    parser.add_argument("--workdir", type=Path, default=None, help="where the databases go")
    parser.add_argument(
        "--export-child", nargs=2, metavar=("URL", "PROJECT"), help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.export_child:
        export_child(*args.export_child)
        return 0
    engines = [e for e in args.engines.split(",") if e]
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"rows": args.rows, "cpus": os.cpu_count(), "engines": {}}
    with (
        tempfile.TemporaryDirectory(dir=args.workdir) as tmp,
        databases(engines, Path(tmp)) as urls,
    ):
        for name, url in urls.items():
            engine = make_engine(url, pool_size=2)
            upgrade(engine)
            project_id = load(engine, args.rows, messages=not args.no_messages)
            queries = time_queries(engine, project_id, args.repeat)
            engine.dispose()
            log(f"{name}: exporting")
            export = measure_export(url, project_id)
            log(f"{name}: export {export}")
            report["engines"][name] = {"queries": queries, "export": export}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
