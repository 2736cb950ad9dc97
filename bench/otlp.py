"""GenAI spans per second through ``POST /v1/traces`` against ``POST /conversations``.

    .venv/bin/python bench/otlp.py                      # SQLite
    .venv/bin/python bench/otlp.py --rounds 3 --conversations 2048

Both carry the same turns to one convoscope server (its own process, a fresh SQLite
file, ``bench.servers``): conversations of four calls each, every call resending the
history so far, as chat clients do.

* ``conversations``: one ``POST /conversations`` per turn, its body the history up to and
  including the turn's answer, from 16 keep-alive clients;
* ``otlp``: the turns as GenAI spans (``gen_ai.input.messages`` / ``output.messages``),
  512 to an OTLP/HTTP protobuf export request, from 2 clients (an exporter sends one
  batch at a time).

Each round runs both, in alternating order, on conversation ids of its own; the figures
are the medians. The run is trusted only if every answer was a 2xx and the database then
holds every conversation and message sent. Progress goes to stderr; stdout gets JSON.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from sqlalchemy import text

from bench.bodies import random_text
from bench.load import build_requests, run_load
from bench.servers import ServerProcess, prepare_database
from convoscope.store import make_engine

TURNS = 4
BATCH = 512
TARGET_RATIO = 1.0
T0 = 1_767_225_600_000_000_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def history(rng: random.Random, turns: int) -> list[tuple[str, str]]:
    pairs = [("system", "You answer questions about the product documentation.")]
    for _ in range(turns):
        pairs += [("user", random_text(rng, 40, 200)), ("assistant", random_text(rng))]
    return pairs


def conversation_bodies(tag: str, chats: list[list[tuple[str, str]]]) -> list[bytes]:
    """Turn by turn, across conversations: the order in which a busy chat app logs them."""
    bodies = []
    for turn in range(TURNS):
        for n, chat in enumerate(chats):
            messages = [{"role": r, "content": c} for r, c in chat[: 3 + 2 * turn]]
            body = {"type": "openai", "id": f"{tag}-{n}", "messages": messages}
            bodies.append(orjson.dumps(body))
    return bodies


def _kv(key: str, value: str | int) -> KeyValue:
    any_value = (
        AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    )
    return KeyValue(key=key, value=any_value)


def _parts(pairs: list[tuple[str, str]]) -> str:
    return orjson.dumps(
        [{"role": r, "parts": [{"type": "text", "content": c}]} for r, c in pairs]
    ).decode()


def span_batches(tag: str, chats: list[list[tuple[str, str]]]) -> list[bytes]:
    """The same turns as GenAI spans, ``BATCH`` to an export request, protobuf."""
    spans = []
    rng = random.Random(tag)
    for turn in range(TURNS):
        for n, chat in enumerate(chats):
            start = T0 + (turn * 60 + n) * 1_000_000_000
            spans.append(
                {
                    "trace_id": rng.randbytes(16),
                    "span_id": rng.randbytes(8),
                    "name": "chat gpt-4o-mini",
                    "kind": 3,
                    "start_time_unix_nano": start,
                    "end_time_unix_nano": start + 800_000_000,
                    "attributes": [
                        _kv("gen_ai.operation.name", "chat"),
                        _kv("gen_ai.provider.name", "openai"),
                        _kv("gen_ai.request.model", "gpt-4o-mini"),
                        _kv("gen_ai.conversation.id", f"{tag}-{n}"),
                        _kv("gen_ai.usage.input_tokens", 120 + turn),
                        _kv("gen_ai.usage.output_tokens", 60),
                        _kv("gen_ai.input.messages", _parts(chat[: 2 + 2 * turn])),
                        _kv("gen_ai.output.messages", _parts(chat[2 + 2 * turn : 3 + 2 * turn])),
                    ],
                }
            )
    batches = []
    for i in range(0, len(spans), BATCH):
        request = ExportTraceServiceRequest()
        resource = request.resource_spans.add()
        resource.resource.attributes.append(_kv("service.name", "bench"))
        scope = resource.scope_spans.add()
        for span in spans[i : i + BATCH]:
            scope.spans.add(**span)
        batches.append(request.SerializeToString())
    return batches


def protobuf_requests(port: int, bodies: list[bytes], authorization: str) -> list[bytes]:
    head = (
        f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/x-protobuf\r\nAuthorization: {authorization}\r\n"
    ).encode()
    return [head + b"Content-Length: %d\r\n\r\n" % len(body) + body for body in bodies]


def count(url: str, tag: str) -> tuple[int, int]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            conversations, messages = conn.execute(
                text(
                    "SELECT count(DISTINCT c.id), count(m.id) FROM conversations c "
                    "JOIN messages m ON m.project_id = c.project_id "
                    "AND m.conversation_id = c.id WHERE c.id LIKE :tag"
                ),
                {"tag": f"{tag}-%"},
            ).one()
            return int(conversations), int(messages)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    turns = args.conversations * TURNS
    results: dict[str, list[float]] = {"conversations": [], "otlp": []}
    with tempfile.TemporaryDirectory(prefix="convoscope-bench-otlp-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'convoscope.db'}"
        key = prepare_database(url)
        server = ServerProcess(
            "convoscope",
            log_path=workdir / "server.log",
            env={
                "CONVOSCOPE_DATABASE_URL": url,
                "CONVOSCOPE_LOG_LEVEL": "warning",
                "CONVOSCOPE_ANNOTATION_WORKER": "false",
            },
            ready_path="/healthz",
        )
        server.start()
        try:
            for round_number in range(args.rounds):
                order = ["conversations", "otlp"]
                if round_number % 2:
                    order.reverse()
                for kind in order:
                    tag = f"r{round_number}-{kind}"
                    chats = [history(rng, TURNS) for _ in range(args.conversations)]
                    if kind == "conversations":
                        requests = build_requests(
                            server.port,
                            "/conversations",
                            conversation_bodies(tag, chats),
                            f"Bearer {key}",
                        )
                        concurrency = 16
                    else:
                        requests = protobuf_requests(
                            server.port, span_batches(tag, chats), f"Bearer {key}"
                        )
                        concurrency = 2
                    started = time.perf_counter()
                    result = run_load(
                        server.port, requests, concurrency=concurrency, duration_s=None
                    )
                    elapsed = time.perf_counter() - started
                    if result.failed or result.ok != len(requests):
                        raise SystemExit(
                            f"{kind}: {result.failed} failed answers {dict(result.statuses)} "
                            f"{result.error_samples}"
                        )
                    stored = count(url, tag)
                    expected = (args.conversations, args.conversations * (1 + 2 * TURNS))
                    if stored != expected:
                        raise SystemExit(f"{kind}: stored {stored}, expected {expected}")
                    rate = turns / elapsed
                    results[kind].append(rate)
                    log(f"round {round_number + 1} {kind}: {rate:,.0f} turns/s")
        finally:
            server.stop()
    conversations = statistics.median(results["conversations"])
    otlp = statistics.median(results["otlp"])
    report: dict[str, Any] = {
        "database": "sqlite",
        "turns_per_run": turns,
        "spans_per_export": BATCH,
        "conversations_turns_per_s": round(conversations),
        "otlp_spans_per_s": round(otlp),
        "ratio_otlp_vs_conversations": round(otlp / conversations, 2),
        "target_ratio": TARGET_RATIO,
        "meets_target": otlp / conversations >= TARGET_RATIO,
        "rounds": {k: [round(v) for v in vs] for k, vs in results.items()},
    }
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
