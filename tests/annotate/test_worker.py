"""The annotation worker annotates every thread once, off the request path: after an
upsert, after a crash, beside another worker, and never over what a person verified."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
import pytest
from sqlalchemy import Engine, select

from convoscope.annotate import (
    AnnotationWorker,
    InProcessRunner,
    OfflineAnalyzer,
    ProjectContext,
    Sourced,
    SubprocessRunner,
    ThreadText,
    WorkerSettings,
    configured_analyzer,
)
from convoscope.store import ConversationIn, Database, FeedbackIn, MessageIn
from convoscope.store import annotations as store
from convoscope.store import conversations as conversation_store
from convoscope.store import feedback as feedback_store
from convoscope.store.tables import semantic_threads
from tests.conftest import ProjectKeys

QUESTIONS = [
    ("How do I rotate my API key?", "Open Settings, then API keys, and click Rotate."),
    ("Is there a dark mode?", "Dark mode is not supported yet; it is a feature request."),
    ("Why does the export fail with error 500?", "I am not sure, I could not find that."),
]


def conversation(conversation_id: str, pairs: Sequence[tuple[str, str]]) -> ConversationIn:
    messages = []
    for i, (question, answer) in enumerate(pairs):
        messages.append(MessageIn(role="user", content=question, id=f"{conversation_id}-q{i}"))
        messages.append(MessageIn(role="assistant", content=answer, id=f"{conversation_id}-a{i}"))
    return ConversationIn(type="openai", messages=messages, id=conversation_id)


@pytest.fixture
def worker(db: Database, shared_analyzer: OfflineAnalyzer) -> AnnotationWorker:
    return AnnotationWorker(
        db, InProcessRunner(shared_analyzer), WorkerSettings(batch_size=10, min_threads_to_fit=3)
    )


async def log(db: Database, project: ProjectKeys, data: ConversationIn) -> None:
    await db.write(lambda conn: conversation_store.upsert_conversation(conn, project.scope, data))


def threads(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(semantic_threads).order_by(semantic_threads.c.position))
        return [dict(row) for row in rows.mappings()]


async def test_run_once_annotates_every_pending_thread_once(
    db: Database, worker: AnnotationWorker, project: ProjectKeys, engine: Engine
) -> None:
    await log(db, project, conversation("c1", QUESTIONS))
    assert [t["annotation_status"] for t in threads(engine)] == ["pending"] * 3
    assert await worker.run_once() == 3
    assert await worker.run_once() == 0
    stored = threads(engine)
    assert [t["annotation_status"] for t in stored] == ["done"] * 3
    assert {t["annotated_by"] for t in stored} == {"offline:1"}
    assert [t["is_feature_supported"] for t in stored] == [True, False, True]
    assert [t["is_answer_confident"] for t in stored] == [True, True, False]
    assert all(t["languages"] == ["en"] and t["sentiment"] for t in stored)
    assert all(t["category"] for t in stored), "categories are fitted once there are enough"
    with engine.connect() as conn:
        assert store.status_counts(conn) == {project.scope.project_id: {"done": 3}}


async def test_an_upsert_queues_only_its_new_and_changed_threads(
    db: Database, worker: AnnotationWorker, project: ProjectKeys, engine: Engine
) -> None:
    await log(db, project, conversation("c1", QUESTIONS[:1]))
    await worker.run_once()
    first = threads(engine)[0]
    await log(db, project, conversation("c1", QUESTIONS[:2]))
    assert [t["annotation_status"] for t in threads(engine)] == ["done", "pending"]
    assert threads(engine)[0] == first, "an unchanged thread is not derived again"
    assert await worker.run_once() == 1
    # The same question and answer derived again (the answer's message changed in a
    # field threads do not show) keep their annotations and their done state.
    again = conversation("c1", QUESTIONS[:2])
    again.messages[1].properties = {"model": "gpt-4o"}
    await log(db, project, again)
    assert [t["annotation_status"] for t in threads(engine)] == ["done", "done"]
    assert threads(engine)[0]["subject"] == first["subject"]
    # A link cited now changes what the answer is grounded in: queued again.
    cited = conversation("c1", QUESTIONS[:2])
    cited.messages[1].links = [{"url": "https://docs.example.com/keys", "title": "API keys"}]
    await log(db, project, cited)
    assert [t["annotation_status"] for t in threads(engine)] == ["pending", "done"]
    assert threads(engine)[0]["subject"] is not None, "old values stay until replaced"
    # And a changed answer too.
    changed = conversation("c1", [QUESTIONS[0], (QUESTIONS[1][0], "It is, since May.")])
    changed.messages[1].links = cited.messages[1].links
    await log(db, project, changed)
    assert [t["annotation_status"] for t in threads(engine)] == ["pending", "pending"]
    assert await worker.run_once() == 2


@pytest.mark.parametrize("ids", [True, False], ids=["client ids", "no ids"])
async def test_ten_turns_logged_after_each_answer_are_annotated_ten_times(
    db: Database, worker: AnnotationWorker, project: ProjectKeys, engine: Engine, ids: bool
) -> None:
    pairs = [(f"{q} (turn {n})", a) for n in range(4) for q, a in QUESTIONS][:10]
    annotated = 0
    for turn in range(1, 11):
        data = conversation("c1", pairs[:turn])
        if not ids:
            for message in data.messages:
                message.id = None
        await log(db, project, data)
        annotated += await worker.run_once()
    assert annotated == 10, "each thread once, not 1 + 2 + ... + 10 = 55 times"
    assert [t["annotation_status"] for t in threads(engine)] == ["done"] * 10


async def test_verified_fields_survive_re_annotation(
    db: Database, worker: AnnotationWorker, project: ProjectKeys, engine: Engine
) -> None:
    await log(db, project, conversation("c1", QUESTIONS[:1]))
    await worker.run_once()
    thread_id = threads(engine)[0]["id"]
    await db.write(
        lambda conn: store.verify_fields(
            conn,
            project.scope.project_id,
            thread_id,
            {"category": "billing", "is_documented": False},
        )
    )
    await log(db, project, conversation("c1", [(QUESTIONS[0][0], "A different answer now.")]))
    assert await worker.run_once() == 1
    stored = threads(engine)[0]
    assert (stored["category"], stored["is_documented"]) == ("billing", False)
    assert stored["verified_fields"] == ["category", "is_documented"]
    assert stored["are_ai_annotations_verified"] is True
    assert stored["annotated_by"] == "offline:1"


async def test_threads_claimed_by_a_worker_that_died_are_claimed_again(
    db: Database, worker: AnnotationWorker, project: ProjectKeys, engine: Engine
) -> None:
    await log(db, project, conversation("c1", QUESTIONS))
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    lost = await db.write(
        lambda conn: store.claim_threads(
            conn, project.scope.project_id, limit=2, now=long_ago, lease=timedelta(minutes=10)
        )
    )
    assert len(lost) == 2
    assert await worker.run_once() == 3, "the expired claims and the unclaimed thread"
    assert [t["annotation_status"] for t in threads(engine)] == ["done"] * 3


async def test_a_thread_re_derived_while_claimed_is_not_overwritten(
    db: Database, project: ProjectKeys, engine: Engine
) -> None:
    await log(db, project, conversation("c1", QUESTIONS[:1]))
    now = datetime.now(UTC)
    [claimed] = await db.write(
        lambda conn: store.claim_threads(
            conn, project.scope.project_id, limit=5, now=now, lease=timedelta(minutes=10)
        )
    )
    await log(db, project, conversation("c1", [(QUESTIONS[0][0], "changed")]))
    saved = await db.write(
        lambda conn: store.save_annotation(conn, claimed, {"subject": "stale"}, source="x")
    )
    assert saved is False
    assert threads(engine)[0]["annotation_status"] == "pending"


class CrashingRunner(InProcessRunner):
    """An analyzer whose model fails: fault injection for the retry path."""

    async def annotate(self, threads: Sequence[ThreadText], context: ProjectContext) -> Sourced:
        raise RuntimeError("the model crashed")


async def test_failures_back_off_and_give_up_after_the_last_attempt(
    db: Database, project: ProjectKeys, engine: Engine, shared_analyzer: OfflineAnalyzer
) -> None:
    crashing = AnnotationWorker(
        db,
        CrashingRunner(shared_analyzer),
        WorkerSettings(max_attempts=2, backoff=timedelta(0), min_threads_to_fit=100),
    )
    await log(db, project, conversation("c1", QUESTIONS[:1]))
    assert await crashing.run_once() == 0
    first = threads(engine)[0]
    assert (first["annotation_status"], first["annotation_attempts"]) == ("pending", 1)
    assert first["annotation_error"] == "RuntimeError: the model crashed"
    await crashing.run_once()
    assert threads(engine)[0]["annotation_status"] == "failed"
    assert await crashing.run_once() == 0, "a failed thread is left alone"
    with engine.connect() as conn:
        assert store.requeue(conn, project.scope.project_id) == 1
        conn.commit()
    assert threads(engine)[0]["annotation_status"] == "pending"


@pytest.mark.postgres_only
async def test_two_workers_never_claim_the_same_thread(
    db: Database, project: ProjectKeys, engine: Engine
) -> None:
    await log(db, project, conversation("c1", QUESTIONS * 4))
    now = datetime.now(UTC)
    first_claimed = threading.Event()
    release = threading.Event()
    results: dict[str, list[str]] = {}

    def claim(name: str, hold: bool) -> None:
        with engine.begin() as conn:
            got = store.claim_threads(
                conn, project.scope.project_id, limit=5, now=now, lease=timedelta(minutes=10)
            )
            results[name] = [t.id for t in got]
            if hold:  # keep the row locks until the other worker has claimed
                first_claimed.set()
                release.wait(10)

    holder = threading.Thread(target=claim, args=("a", True))
    holder.start()
    assert first_claimed.wait(10)
    claim("b", False)
    release.set()
    holder.join()
    assert len(results["a"]) == 5 and len(results["b"]) == 5
    assert not set(results["a"]) & set(results["b"])


async def test_feedback_on_an_answer_queues_its_thread_again(
    db: Database, worker: AnnotationWorker, project: ProjectKeys, engine: Engine
) -> None:
    await log(db, project, conversation("c1", QUESTIONS[:2]))
    await worker.run_once()
    await db.write(
        lambda conn: feedback_store.upsert_feedback(
            conn, project.scope, FeedbackIn(type="negative", message_id="c1-a1")
        )
    )
    assert [t["annotation_status"] for t in threads(engine)] == ["done", "pending"]
    assert await worker.run_once() == 1


# --- a worker that keeps going ---------------------------------------------------------------


def first_and_second(*projects: ProjectKeys) -> tuple[ProjectKeys, ProjectKeys]:
    """The projects in the order a round visits them (by id)."""
    first, second = sorted(projects, key=lambda p: p.scope.project_id)
    return first, second


async def store_context(db: Database, project: ProjectKeys, model: dict[str, Any]) -> None:
    stored = store.StoredContext([], [], model, fitted_threads=0)
    await db.write(lambda conn: store.save_context(conn, project.scope.project_id, stored))


def statuses(engine: Engine, project: ProjectKeys) -> list[str]:
    return [
        t["annotation_status"]
        for t in threads(engine)
        if t["project_id"] == project.scope.project_id
    ]


async def test_a_failing_fit_does_not_end_the_round_for_the_other_projects(
    db: Database,
    project: ProjectKeys,
    other_project: ProjectKeys,
    engine: Engine,
    shared_analyzer: OfflineAnalyzer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken, healthy = first_and_second(project, other_project)
    # A category model of another shape than the embedding (saved by an older build): the
    # real analyzer's refit raises on it, and so does assigning categories with it.
    corrupt = {
        "ids": ["c1"],
        "names": ["old"],
        "centroids": [[1.0, 0.0, 0.0]],
        "sizes": [3],
        "embedder": shared_analyzer.embedder,
        "nextId": 2,
    }
    await store_context(db, broken, corrupt)
    for keys in (broken, healthy):
        await log(db, keys, conversation("c1", QUESTIONS))
    worker = AnnotationWorker(
        db,
        InProcessRunner(shared_analyzer),
        WorkerSettings(min_threads_to_fit=3, backoff=timedelta(0)),
    )
    with caplog.at_level(logging.WARNING):
        assert await worker.run_once() == 3
        assert statuses(engine, healthy) == ["done"] * 3
        assert statuses(engine, broken) == ["pending"] * 3
        assert caplog.text.count(f"fitting {broken.scope.project_id} failed") == 1
        await worker.run_once()
        # The fit waits out its backoff; the threads keep their own retries.
        assert caplog.text.count(f"fitting {broken.scope.project_id} failed") == 1
    assert {
        t["annotation_error"].split(":")[0]
        for t in threads(engine)
        if t["project_id"] == broken.scope.project_id
    } == {"ValueError"}


async def test_a_project_whose_round_fails_waits_and_the_others_go_on(
    db: Database,
    project: ProjectKeys,
    other_project: ProjectKeys,
    engine: Engine,
    shared_analyzer: OfflineAnalyzer,
) -> None:
    broken, healthy = first_and_second(project, other_project)
    await store_context(db, broken, {"embedder": "unreadable"})  # no ids, no centroids
    await log(db, broken, conversation("c1", QUESTIONS))
    worker = AnnotationWorker(db, InProcessRunner(shared_analyzer), WorkerSettings())
    assert await worker.run_once() == 0
    await log(db, healthy, conversation("c1", QUESTIONS))
    assert await worker.run_once() == 3, "the broken project is skipped while it waits"
    assert statuses(engine, healthy) == ["done"] * 3
    assert statuses(engine, broken) == ["pending"] * 3
    await store_context(db, broken, {})  # repaired: an empty context means "never fitted"
    assert await worker.run_once() == 0, "still within its backoff"


async def test_the_analyzer_process_is_restarted_when_it_dies() -> None:
    runner = SubprocessRunner(configured_analyzer)
    try:
        first_pid = await runner.pid()
        os.kill(first_pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while psutil.pid_exists(first_pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        texts = [ThreadText(question, answer) for question, answer in QUESTIONS]
        annotated = await runner.annotate(texts, ProjectContext())
        assert [a.is_answer_confident for a, _ in annotated] == [True, True, False]
        assert runner.restarts == 1
        assert await runner.pid() != first_pid
        assert runner.restarts == 1, "a live child is kept"
    finally:
        runner.close()


class FitRecordingRunner(InProcessRunner):
    """The real analyzer, in process, noting how many threads each fit learns from."""

    def __init__(self, analyzer: OfflineAnalyzer) -> None:
        super().__init__(analyzer)
        self.fitted_on: list[int] = []

    async def fit(self, threads: Sequence[ThreadText], context: ProjectContext) -> ProjectContext:
        self.fitted_on.append(len(threads))
        return await super().fit(threads, context)


async def test_a_backlog_is_annotated_after_a_small_first_fit_then_refitted_on_more(
    db: Database, project: ProjectKeys, engine: Engine, shared_analyzer: OfflineAnalyzer
) -> None:
    # After a replay that logged thousands of turns while the worker held off, the
    # first round fitted the categories on the whole backlog (embedding every thread)
    # before annotating one, and annotated nothing for the minute watched.
    runner = FitRecordingRunner(shared_analyzer)
    worker = AnnotationWorker(
        db,
        runner,
        WorkerSettings(
            batch_size=5, min_threads_to_fit=3, first_fit_threads=6, refit_check_seconds=0
        ),
    )
    for n in range(10):
        await log(db, project, conversation(f"c{n}", QUESTIONS[: 1 + n % 3]))
    total = len(threads(engine))
    assert total == 19
    assert await worker.run_once() == 5
    assert runner.fitted_on == [6], "the first batch waits for a fit on a few threads only"
    while await worker.run_once():
        pass
    # Each refit on twice the one before, while the project had that many.
    assert runner.fitted_on == [6, 12]
    stored = threads(engine)
    assert all(t["annotation_status"] == "done" and t["category"] for t in stored)
    with engine.connect() as conn:
        context = store.load_context(conn, project.scope.project_id)
    assert context.fitted_threads == 12
    # Once the project has that many again, the next fit learns from twice as many.
    for n in range(10, 13):
        await log(db, project, conversation(f"c{n}", QUESTIONS))
    await worker.run_once()
    assert runner.fitted_on == [6, 12, 24]
