"""Category and language quality of the offline annotator, on data labelled by people.

Prints one JSON object: the adjusted Rand index (ARI) of `category` against the labels on

- CLINC150 (`tests/data/clinc150/`, 150 intents): `val` is what the clustering was tuned on,
  `test` is reported; each split both whole (30 resp. 20 questions per intent) and as its
  first six questions per intent (900);
- the labelled set (`tests/data/annotation_labelled.jsonl`), per product, for the categories
  and for their coarser groups, with the share of questions a top ten of each shows;

and language accuracy (first language = label) on the labelled set.

Each question is logged the way the server annotates it: a thread with a generic answer
and no links, `fit_context` on the whole set, then `analyze_batch`. Run:
`python -m bench.categories [--splits test,val]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sklearn.metrics import adjusted_rand_score  # type: ignore[import-untyped]

from convoscope.annotate import OfflineAnalyzer, ProjectContext, ThreadText

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
CLINC = DATA / "clinc150"
LABELLED = DATA / "annotation_labelled.jsonl"
GENERIC_ANSWER = "Here is what I found about that."


def clinc(split: str, per_intent: int | None = None) -> list[dict[str, str]]:
    """A CLINC150 split, or its first `per_intent` questions of each intent, in file order."""
    rows = [json.loads(line) for line in (CLINC / f"{split}.jsonl").open(encoding="utf-8")]
    if per_intent is None:
        return rows
    seen: dict[str, int] = {}
    kept = []
    for row in rows:
        if seen.get(row["intent"], 0) < per_intent:
            seen[row["intent"]] = seen.get(row["intent"], 0) + 1
            kept.append(row)
    return kept


def clinc_ari(analyzer: OfflineAnalyzer, rows: list[dict[str, str]]) -> dict[str, Any]:
    threads = [ThreadText(r["text"], GENERIC_ANSWER) for r in rows]
    start = time.perf_counter()
    context = analyzer.fit_context(threads, ProjectContext())
    categories = [a.category for a in analyzer.analyze_batch(threads, context)]
    return {
        "questions": len(rows),
        "intents": len({r["intent"] for r in rows}),
        "categories": len(set(categories)),
        "ari": round(adjusted_rand_score([r["intent"] for r in rows], categories), 3),
        "seconds": round(time.perf_counter() - start, 1),
    }


def top_ten_share(labels: list[str | None]) -> float:
    return round(sum(n for _, n in Counter(labels).most_common(10)) / len(labels), 2)


def labelled(analyzer: OfflineAnalyzer) -> dict[str, Any]:
    rows = [json.loads(line) for line in LABELLED.open(encoding="utf-8")]
    per_project: dict[str, Any] = {}
    right = 0
    for project in sorted({r["project"] for r in rows}):
        mine = [r for r in rows if r["project"] == project]
        threads = [
            ThreadText(
                r["question"],
                r["answer"],
                [link["title"] for link in r["links"]],
                [link["url"] for link in r["links"]],
                has_negative_feedback=r["feedback"] == "negative",
            )
            for r in mine
        ]
        context = analyzer.fit_context(threads, ProjectContext())
        annotations = analyzer.analyze_batch(threads, context)
        pairs = list(zip(mine, annotations, strict=True))
        model = context.categories
        groups = [
            model.group_name(model.names.index(a.category or "")) if model else None
            for a in annotations
        ]
        right += sum(a.languages[:1] == [r["labels"]["language"]] for r, a in pairs)
        per_project[project] = {
            "threads": len(mine),
            "intended": len({r["labels"]["category"] for r in mine}),
            "categories": len({a.category for a in annotations}),
            "ari": round(
                adjusted_rand_score(
                    [r["labels"]["category"] for r in mine], [a.category for a in annotations]
                ),
                3,
            ),
            "groups": len(set(groups)),
            "groupAri": round(
                adjusted_rand_score([r["labels"]["category"] for r in mine], groups), 3
            ),
            # what a dashboard's top ten shows of the product's questions
            "topTenShare": top_ten_share([a.category for a in annotations]),
            "topTenGroupShare": top_ten_share(groups),
        }
    return {"categories": per_project, "language_accuracy": round(right / len(rows), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", default="test,val", help="CLINC150 splits to measure")
    args = parser.parse_args()
    analyzer = OfflineAnalyzer()
    result: dict[str, Any] = {"labelled_set": labelled(analyzer)}
    for split in args.splits.split(","):
        result[f"clinc150_{split}_six_per_intent"] = clinc_ari(analyzer, clinc(split, 6))
        result[f"clinc150_{split}_all"] = clinc_ari(analyzer, clinc(split))
        print(json.dumps(result), file=sys.stderr, flush=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
