"""Benchmark of the dashboard's pages against the bare DSL queries behind them.

Builds ``--rows`` conversations as bench/query.py does (90 days, feedback, search and
message events) plus one annotated semantic thread per conversation, in a fresh database
of each engine; starts ``convoscope serve`` on it; signs in; then loads each page's data
the way the browser does (all of a page's data calls at once) ``--repeat`` times over
the last 30 days. Beside each data call it times the report function the call runs,
called directly on a connection (the DSL queries, no HTTP, no session).

Prints one JSON object: per engine and page the p50/p95 in milliseconds until the page's
data is complete, and per data call its p50/p95 over HTTP and the bare DSL p50, with the
ratio HTTP / DSL.

    python bench/dashboard.py --rows 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.query import END, databases, load, log  # noqa: E402
from convoscope.auth.dashboard import issue_link  # noqa: E402
from convoscope.store import summaries  # noqa: E402
from convoscope.store import users as user_store  # noqa: E402
from convoscope.store.engine import make_engine  # noqa: E402
from convoscope.store.migrate import upgrade  # noqa: E402
from convoscope.store.records import Scope  # noqa: E402
from convoscope.store.statistics import analyze, refresh_statistics  # noqa: E402
from convoscope.store.threads import refresh_all_feedback_flags  # noqa: E402
from convoscope.web import listing, reports  # noqa: E402
from convoscope.web.window import Window  # noqa: E402

START = END - timedelta(days=30)
VIEW = f"range=custom&from={START.date()}&to={(END - timedelta(days=1)).date()}"
WINDOW = Window(START, END)
CONVERSATION = "conv_00000042"

Bare = Callable[[Connection, str], Any]


def _report(fn: Callable[..., Any]) -> Bare:
    return lambda conn, project_id: fn(conn, project_id, WINDOW)


def _dsl_only(fn: Callable[..., Any]) -> Bare:
    return lambda conn, project_id: fn(conn, project_id, WINDOW, use_summaries=False)


# The reports that read the summaries, by data call: their DSL-only form.
DSL_ONLY: dict[str, Bare] = {
    "overview/cards": _dsl_only(reports.overview_cards),
    "overview/volume": _dsl_only(reports.conversations_over_time),
    "overview/feedback": _dsl_only(reports.feedback_per_day),
    "overview/sentiment": _dsl_only(reports.sentiment_mix),
    "overview/categories": _dsl_only(reports.top_categories),
    "topics": _dsl_only(reports.topics),
}


def _list(**filters: str) -> Bare:
    f = listing.ConversationFilter(**filters)
    return lambda conn, project_id: listing.list_conversations(conn, project_id, WINDOW, f)


PAGES: dict[str, list[tuple[str, Bare]]] = {
    "overview": [
        ("overview/cards", _report(reports.overview_cards)),
        ("overview/volume", _report(reports.conversations_over_time)),
        ("overview/feedback", _report(reports.feedback_per_day)),
        ("overview/sentiment", _report(reports.sentiment_mix)),
        ("overview/categories", _report(reports.top_categories)),
        ("overview/negative", _report(reports.latest_negative_feedback)),
    ],
    "conversations": [("conversations", _list())],
    "conversations_filtered": [
        (
            "conversations?category=billing&feedback=negative",
            _list(category="billing", feedback="negative"),
        ),
    ],  # fmt: skip
    "conversation": [
        (
            f"conversations/{CONVERSATION}",
            lambda conn, p: listing.conversation_detail(conn, Scope("", p), CONVERSATION),
        ),
    ],  # fmt: skip
    "topics": [("topics", _report(reports.topics))],
    "gaps": [("gaps", _report(reports.gaps))],
    "search": [("search", _report(reports.search_report))],
}

CATEGORIES = ["api_keys", "billing", "webhooks", "sso", "export", "install", "auth", "limits"]


def add_threads(engine: Engine, project_id: str) -> None:
    """One annotated thread per conversation, derived in SQL from the conversation row."""
    pg = engine.dialect.name == "postgresql"
    pick = (
        "abs(hashtext(id))" if pg else "abs(unicode(substr(id, -1)) * 7 + unicode(substr(id, -2)))"
    )
    ids = "jsonb_build_array(id)" if pg else "json_array(id)"
    empty = "'[]'::jsonb" if pg else "'[]'"
    langs = "'[\"en\"]'::jsonb" if pg else "'[\"en\"]'"
    categories = " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(CATEGORIES))
    sentiments = "CASE {p} % 3 WHEN 0 THEN 'positive' WHEN 1 THEN 'neutral' ELSE 'negative' END"
    sql = f"""
        INSERT INTO semantic_threads (project_id, id, conversation_id, position, first_position,
            last_position, organization_id, integration_id, question, question_length, answer,
            message_ids, messages_count, conversation_ids, first_message_time,
            last_message_time, last_updated, is_initial_question_answer, is_documented,
            is_answer_confident, is_feature_supported, category, subject, sentiment,
            gap_summary, languages, annotation_status)
        SELECT project_id, 'st_' || id, id, 0, 0, 1, organization_id, integration_id,
            'question about ' || (CASE {pick} % 8 {categories} END), 20, 'an answer',
            {empty}, 2, {ids}, first_message_time, last_message_time, last_message_time,
            TRUE, ({pick} % 5) <> 0, ({pick} % 4) <> 0, ({pick} % 9) <> 0,
            CASE {pick} % 8 {categories} END, CASE {pick} % 8 {categories} END,
            {sentiments.format(p=pick)},
            CASE WHEN {pick} % 5 = 0 THEN 'missing page' END, {langs}, 'done'
        FROM conversations WHERE project_id = :p
    """
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(sql), {"p": project_id})
        # Rows loaded around the write path: derive what it keeps on write.
        refresh_all_feedback_flags(conn, project_id)
        summaries.rebuild(conn, project_id)
    with engine.connect() as conn:
        refresh_statistics(conn)
        for table in summaries.SUMMARY_TABLES:
            analyze(conn, table.name)
    log(f"{engine.dialect.name}: threads and summaries in {time.perf_counter() - started:.0f}s")


def sign_in_link(engine: Engine, project_id: str, base_url: str) -> str:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        user = user_store.create_user(conn, "bench@example.com", now=now)
        user_store.set_membership(conn, project_id, user.id, "viewer", now=now)
        return issue_link(conn, user, base_url, now=now)


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CONVOSCOPE_DATABASE_URL": url,
        "CONVOSCOPE_PORT": str(port),
        "CONVOSCOPE_ANNOTATION_WORKER": "false",
        "CONVOSCOPE_LOG_LEVEL": "warning",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "convoscope.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pcts(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


async def time_pages(base: str, link: str, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        deadline = time.monotonic() + 120
        while True:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            await asyncio.sleep(0.2)
        signed = await client.get(link.removeprefix(base))
        if signed.status_code != 303:
            raise RuntimeError(f"sign-in failed: {signed.status_code}")

        async def call(path: str) -> float:
            sep = "&" if "?" in path else "?"
            started = time.perf_counter()
            response = await client.get(f"/dashboard/api/{path}{sep}{VIEW}")
            response.raise_for_status()
            return (time.perf_counter() - started) * 1000

        for page, calls in PAGES.items():
            for path, _ in calls:  # warm caches, as a second visit would
                await call(path)
            page_ms: list[float] = []
            call_ms: dict[str, list[float]] = {path: [] for path, _ in calls}
            for _ in range(repeat):
                started = time.perf_counter()
                results = await asyncio.gather(*(call(path) for path, _ in calls))
                page_ms.append((time.perf_counter() - started) * 1000)
                for (path, _), ms in zip(calls, results, strict=True):
                    call_ms[path].append(ms)
            out[page] = {"page": _pcts(page_ms), "calls": {p: _pcts(v) for p, v in call_ms.items()}}
            log(f"{page}: {out[page]['page']}")
    return out


def _median_ms(conn: Connection, project_id: str, bare: Bare, repeat: int) -> float:
    bare(conn, project_id)
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        bare(conn, project_id)
        runs.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(runs), 1)


def time_bare(engine: Engine, project_id: str, repeat: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with engine.connect() as conn:
        for calls in PAGES.values():
            for path, bare in calls:
                out[path] = _median_ms(conn, project_id, bare, repeat)
        for path, bare in DSL_ONLY.items():
            out[f"dsl-only:{path}"] = _median_ms(conn, project_id, bare, max(3, repeat // 3))
    return out


def run_engine(url: str, rows: int, repeat: int, *, build: bool = True) -> dict[str, Any]:
    engine = make_engine(url, pool_size=2)
    upgrade(engine)
    if build:
        project_id = load(engine, rows, messages=True)
        add_threads(engine, project_id)
    else:  # a database an earlier run built (--database)
        with engine.connect() as conn:
            project_id = conn.execute(
                text("SELECT id FROM projects WHERE name = 'bench'")
            ).scalar_one()
            for table in ("dashboard_sessions", "signin_links", "project_members",
                          "dashboard_users"):  # fmt: skip
                conn.execute(text(f"DELETE FROM {table}"))
            conn.commit()
            rows = conn.execute(
                text("SELECT count(*) FROM conversations WHERE project_id = :p"), {"p": project_id}
            ).scalar_one()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    link = sign_in_link(engine, project_id, base)
    server = start_server(url, port)
    try:
        pages = asyncio.run(time_pages(base, link, repeat))
    finally:
        server.terminate()
        server.wait(timeout=60)
    bare = time_bare(engine, project_id, repeat)
    engine.dispose()
    for measured in pages.values():
        for path, figures in measured["calls"].items():
            figures["bare_p50_ms"] = bare[path]
            figures["ratio"] = round(figures["p50_ms"] / bare[path], 2) if bare[path] else None
            dsl_only = bare.get(f"dsl-only:{path}")
            if dsl_only is not None:
                figures["dsl_only_p50_ms"] = dsl_only
                figures["dsl_only_ratio"] = round(dsl_only / bare[path], 1) if bare[path] else None
    return {"rows": rows, "load_average": os.getloadavg(), "pages": pages}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="conversations to build")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=10, help="timed loads per page")
    parser.add_argument("--workdir", type=Path, default=None, help="where the databases go")
    parser.add_argument(
        "--database",
        default=None,
        help="measure this database, filled by an earlier run, instead of building one",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    results: dict[str, Any] = {}
    if args.database:
        results["database"] = run_engine(args.database, args.rows, args.repeat, build=False)
        print(json.dumps(results, indent=2))
        return 0
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        with databases(engines, Path(tmp)) as urls:
            for name, url in urls.items():
                log(f"{name}: {args.rows} conversations")
                results[name] = run_engine(url, args.rows, args.repeat)
                # Each engine's figures as soon as they are in: a later one may fail.
                log(f"{name}: " + json.dumps(results[name]))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
