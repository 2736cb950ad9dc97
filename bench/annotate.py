"""Offline annotation benchmark: threads/s, peak memory, and clustering 100,000 questions.

Prints one JSON object. Run on 2 cores (the production size): the analyzer uses 2
onnxruntime threads and clustering pins BLAS to 2 threads.

- throughput: `OfflineAnalyzer.analyze_batch` over the labelled set's threads (questions,
  answers and cited links of four products in six languages), repeated to `--threads`,
  in batches of `--batch`, with a fitted category model (so every thread is embedded).
- clustering: `fit_categories` on 100,000 topic vectors. By default the vectors are made
  from the labelled threads' real topic vectors plus noise (cosine ~0.75 to their source),
  because embedding 100,000 texts takes minutes; `--embed` embeds 100,000 generated
  question texts instead and reports that time too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil

from convoscope.annotate import ProjectContext, ThreadText
from convoscope.annotate.analyzers.categories import assign_categories, fit_categories
from convoscope.annotate.analyzers.offline import OfflineAnalyzer, topic_terms

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "annotation_labelled.jsonl"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_threads() -> dict[str, list[ThreadText]]:
    by_project: dict[str, list[ThreadText]] = {}
    with DATA.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            by_project.setdefault(row["project"], []).append(
                ThreadText(
                    question=row["question"],
                    answer=row["answer"],
                    link_titles=[link["title"] for link in row["links"]],
                    link_urls=[link["url"] for link in row["links"]],
                    has_negative_feedback=row["feedback"] == "negative",
                    has_positive_feedback=row["feedback"] == "positive",
                )
            )
    return by_project


def rss_mb() -> float:
    return round(psutil.Process().memory_info().rss / 2**20, 1)


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure_throughput(
    analyzer: OfflineAnalyzer, by_project: dict[str, list[ThreadText]], total: int, batch: int
) -> dict[str, Any]:
    contexts = {p: analyzer.fit_context(ts, ProjectContext()) for p, ts in by_project.items()}
    work = [(p, t) for p, ts in by_project.items() for t in ts]
    work = (work * (total // len(work) + 1))[:total]
    analyzer.analyze_batch([t for _, t in work[:batch]], contexts[work[0][0]])  # warm-up
    start = time.perf_counter()
    cpu_start = time.process_time()
    done = 0
    for offset in range(0, len(work), batch):
        chunk = work[offset : offset + batch]
        for project in dict.fromkeys(p for p, _ in chunk):
            threads = [t for p, t in chunk if p == project]
            done += len(analyzer.analyze_batch(threads, contexts[project]))
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    return {
        "threads": done,
        "seconds": round(seconds, 2),
        "threadsPerSecond": round(done / seconds, 1),
        # CPU time is what other jobs on a shared machine cannot inflate: threads per
        # CPU-second × 2 is the rate two idle cores would give.
        "cpuSeconds": round(cpu_seconds, 2),
        "threadsPerCpuSecond": round(done / cpu_seconds, 1),
        "batchSize": batch,
    }


def synthetic_vectors(
    sources: npt.NDArray[np.float32], count: int, seed: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(sources), size=count)
    points = sources[picks]
    # noise of norm ~0.9 around a unit vector: cosine to the source ~0.75; in chunks, so
    # the benchmark's own temporaries do not dominate the peak memory it reports
    scale = np.float32(0.9 / np.sqrt(sources.shape[1]))
    for start in range(0, count, 10_000):
        rows = points[start : start + 10_000]
        rows += scale * rng.standard_normal(size=rows.shape, dtype=np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = points.astype(np.float32, copy=False)
    return unit, picks.astype(np.int64)


def generated_questions(threads: Sequence[ThreadText], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    extras = ["please", "today", "again", "in production", "for our team", "quickly", "now"]
    return [f"{rng.choice(threads).question} {rng.choice(extras)} #{i}" for i in range(count)]


def measure_clustering(
    analyzer: OfflineAnalyzer, by_project: dict[str, list[ThreadText]], count: int, embed: bool
) -> dict[str, Any]:
    threads = [t for ts in by_project.values() for t in ts]
    terms = [topic_terms(t) for t in threads]
    report: dict[str, Any] = {"questions": count}
    if embed:
        texts = generated_questions(threads, count, seed=0)
        start = time.perf_counter()
        vectors = analyzer.embed(texts)
        report["embedSeconds"] = round(time.perf_counter() - start, 1)
        from convoscope.annotate.analyzers.prose import key_terms

        docs_terms = [key_terms(t) for t in texts]
        report["vectors"] = "embedded generated questions"
    else:
        vectors, picks = synthetic_vectors(analyzer.topic_vectors(threads), count, seed=0)
        docs_terms = [terms[int(i)] for i in picks]
        report["vectors"] = "labelled-set topic vectors plus noise"
    before = rss_mb()
    start = time.perf_counter()
    cpu_start = time.process_time()
    model, _ = fit_categories(docs_terms, vectors, embedder=analyzer.embedder)
    report["fitSeconds"] = round(time.perf_counter() - start, 2)
    report["fitCpuSeconds"] = round(time.process_time() - cpu_start, 2)
    report["categories"] = len(model.ids)
    report["rssAddedMB"] = round(rss_mb() - before, 1)
    start = time.perf_counter()
    assign_categories(model, vectors)
    report["assignSeconds"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    fit_categories(docs_terms, vectors, embedder=analyzer.embedder, previous=model, seed=1)
    report["refitKeepingNamesSeconds"] = round(time.perf_counter() - start, 2)
    report["sampleNames"] = list(model.names[:5])
    return report


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--threads", type=int, default=2000, help="threads to annotate")
    parser.add_argument("--batch", type=int, default=256, help="threads per analyze_batch")
    parser.add_argument("--questions", type=int, default=100_000, help="questions to cluster")
    parser.add_argument("--embed", action="store_true", help="embed real texts (minutes)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 2:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    by_project = load_threads()
    start = time.perf_counter()
    analyzer = OfflineAnalyzer(threads=2)
    report: dict[str, Any] = {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadSeconds": round(time.perf_counter() - start, 2),
        "rssAfterLoadMB": rss_mb(),
    }
    log("annotating")
    report["annotation"] = measure_throughput(analyzer, by_project, args.threads, args.batch)
    report["annotation"]["peakRssMB"] = peak_rss_mb()
    log("clustering")
    report["clustering"] = measure_clustering(analyzer, by_project, args.questions, args.embed)
    report["peakRssMB"] = peak_rss_mb()
    report["loadAverage1m"] = os.getloadavg()[0]
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
