"""Offline annotation benchmark: threads/s, and clustering time and peak memory at scale.

Prints one JSON object. Run on 2 cores (the production size): the analyzer uses 2
onnxruntime threads and clustering pins BLAS to 2 threads.

- throughput: `OfflineAnalyzer.analyze_batch` over the labelled set's threads (questions,
  answers and cited links of four products in six languages), repeated to `--threads`,
  in batches of `--batch`, with a fitted category model (so every thread is embedded).
- clustering: `fit_categories`, then `assign_categories`, then a refit keeping names, on
  each of `--sizes` questions (default 10,000, 100,000 and 1,000,000), each size in a
  process of its own so that its peak memory is its own. The vectors are synthetic, so
  that a million questions need no million model calls: real MiniLM topic vectors of
  CLINC150 (test and val) and the labelled set, 7,897 in all, each drawn at random and
  moved by noise (cosine ~0.75 to its source); each keeps its source's key terms.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil

from convoscope.annotate import OfflineAnalyzer, ProjectContext, ThreadText
from convoscope.annotate.analyzers.categories import assign_categories, fit_categories
from convoscope.annotate.analyzers.offline import topic_terms, topic_text

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "annotation_labelled.jsonl"
CLINC = DATA.parent / "clinc150"
GENERIC_ANSWER = "Here is what I found about that."


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
    """This process's peak resident memory. Linux's ru_maxrss survives exec (a child
    started from the benchmark would report the parent's peak), VmHWM does not."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
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
    # Baseline in the same run: only the one MiniLM embedding each thread needs (its topic
    # text), in the same batches; the rest of the annotator is measured against it.
    texts = [topic_text(t, "en") for _, t in work]
    start = time.perf_counter()
    cpu_start = time.process_time()
    for offset in range(0, len(texts), batch):
        analyzer.embed(texts[offset : offset + batch])
    embed_seconds = time.perf_counter() - start
    embed_cpu_seconds = time.process_time() - cpu_start
    return {
        "threads": done,
        "seconds": round(seconds, 2),
        "threadsPerSecond": round(done / seconds, 1),
        # CPU time is what other jobs on a shared machine cannot inflate: threads per
        # CPU-second × 2 is the rate two idle cores would give.
        "cpuSeconds": round(cpu_seconds, 2),
        "threadsPerCpuSecond": round(done / cpu_seconds, 1),
        "batchSize": batch,
        "baselineEmbedOnlyPerSecond": round(len(texts) / embed_seconds, 1),
        "baselineEmbedOnlyPerCpuSecond": round(len(texts) / embed_cpu_seconds, 1),
        "ratioToEmbedOnly": round((done / seconds) / (len(texts) / embed_seconds), 2),
        "cpuRatioToEmbedOnly": round((done / cpu_seconds) / (len(texts) / embed_cpu_seconds), 2),
    }


def synthetic_vectors(
    sources: npt.NDArray[np.float32], count: int, seed: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """`count` unit vectors, each a random source plus noise (cosine ~0.75 to it, ~0.55
    between two drawn from one source: about what paraphrases of one CLINC150 intent
    score with MiniLM)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(sources), size=count)
    points = np.empty((count, sources.shape[1]), dtype=np.float32)
    # noise of norm ~0.9 around a unit vector; made in chunks, so the benchmark's own
    # temporaries do not dominate the peak memory it reports
    scale = np.float32(0.9 / np.sqrt(sources.shape[1]))
    for start in range(0, count, 10_000):
        rows = points[start : start + 10_000]
        rows[:] = sources[picks[start : start + 10_000]]
        rows += scale * rng.standard_normal(size=rows.shape, dtype=np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return points, picks.astype(np.int64)


def clinc_threads() -> list[ThreadText]:
    threads = []
    for split in ("test", "val"):
        with (CLINC / f"{split}.jsonl").open(encoding="utf-8") as fh:
            threads += [ThreadText(json.loads(line)["text"], GENERIC_ANSWER) for line in fh]
    return threads


def write_sources(
    analyzer: OfflineAnalyzer, by_project: dict[str, list[ThreadText]], folder: Path
) -> int:
    """Real topic vectors (CLINC150 test + val and the labelled set) and their key terms,
    saved for the clustering runs."""
    threads = clinc_threads() + [t for ts in by_project.values() for t in ts]
    np.save(folder / "vectors.npy", analyzer.topic_vectors(threads))
    (folder / "terms.json").write_text(json.dumps([topic_terms(t) for t in threads]))
    return len(threads)


def measure_clustering(folder: Path, count: int) -> dict[str, Any]:
    """Fit, assign and refit `count` synthetic vectors; runs in a process of its own, so
    that its peak memory is this size's alone."""
    sources = np.load(folder / "vectors.npy")
    terms = json.loads((folder / "terms.json").read_text())
    vectors, picks = synthetic_vectors(sources, count, seed=0)
    docs_terms = [terms[int(i)] for i in picks]
    del picks
    report: dict[str, Any] = {"questions": count, "inputMB": round(vectors.nbytes / 2**20, 1)}
    before = rss_mb()
    report["rssBeforeFitMB"] = before
    start = time.perf_counter()
    cpu_start = time.process_time()
    model, _ = fit_categories(docs_terms, vectors, embedder="bench")
    report["fitSeconds"] = round(time.perf_counter() - start, 2)
    report["fitCpuSeconds"] = round(time.process_time() - cpu_start, 2)
    report["categories"] = len(model.ids)
    start = time.perf_counter()
    assign_categories(model, vectors)
    report["assignSeconds"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    fit_categories(docs_terms, vectors, embedder="bench", previous=model, seed=1)
    report["refitKeepingNamesSeconds"] = round(time.perf_counter() - start, 2)
    report["peakRssMB"] = peak_rss_mb()
    # what clustering added on top of the questions' own vectors and terms
    report["peakAddedMB"] = round(report["peakRssMB"] - before, 1)
    report["sampleNames"] = list(model.names[:3])
    return report


def clustering_in_child(folder: Path, count: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.annotate", "--cluster", str(count), "--sources", str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--threads", type=int, default=2000, help="threads to annotate")
    parser.add_argument("--batch", type=int, default=256, help="threads per analyze_batch")
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="questions to cluster, comma-separated"
    )
    parser.add_argument("--cluster", type=int, help=argparse.SUPPRESS)  # one size, in a child
    parser.add_argument("--sources", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def pin_two_cores() -> int | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    if len(os.sched_getaffinity(0)) > 2:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    return len(os.sched_getaffinity(0))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cpus = pin_two_cores()
    if args.cluster is not None:
        print(json.dumps(measure_clustering(args.sources, args.cluster)))
        return 0
    by_project = load_threads()
    start = time.perf_counter()
    analyzer = OfflineAnalyzer(threads=2)
    report: dict[str, Any] = {
        "cpus": cpus,
        "loadSeconds": round(time.perf_counter() - start, 2),
        "rssAfterLoadMB": rss_mb(),
        "loadAverageAtStart": os.getloadavg(),
    }
    log("annotating")
    report["annotation"] = measure_throughput(analyzer, by_project, args.threads, args.batch)
    report["annotation"]["peakRssMB"] = peak_rss_mb()
    log(json.dumps(report["annotation"]))
    with tempfile.TemporaryDirectory() as folder:
        sources = write_sources(analyzer, by_project, Path(folder))
        del analyzer
        report["clustering"] = {
            "vectors": f"synthetic: {sources} real MiniLM topic vectors plus noise",
            "runs": [],
        }
        for size in (int(s) for s in args.sizes.split(",")):
            log(f"clustering {size}")
            report["clustering"]["runs"].append(clustering_in_child(Path(folder), size))
            log(json.dumps(report["clustering"]["runs"][-1]))
    report["loadAverageAtEnd"] = os.getloadavg()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
