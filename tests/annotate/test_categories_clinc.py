"""Categories against intents labelled by people: a fixed sample of CLINC150's test split
(the first six questions of each of its 150 intents, 900 in all), each logged as a thread
with a generic answer, fitted and annotated as the worker does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import adjusted_rand_score  # type: ignore[import-untyped]

from convoscope.annotate import OfflineAnalyzer, ProjectContext, ThreadText

CLINC_TEST = Path(__file__).resolve().parent.parent / "data" / "clinc150" / "test.jsonl"


def clinc_sample(intents: int, per_intent: int) -> list[dict[str, str]]:
    kept: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    with CLINC_TEST.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            intent = row["intent"]
            if intent not in seen and len(seen) == intents:
                continue
            if seen.get(intent, 0) < per_intent:
                seen[intent] = seen.get(intent, 0) + 1
                kept.append(row)
    return kept


@pytest.fixture(scope="module")
def analyzer() -> OfflineAnalyzer:
    return OfflineAnalyzer()


def test_categories_of_real_questions_follow_their_intents(analyzer: OfflineAnalyzer) -> None:
    rows = clinc_sample(intents=150, per_intent=6)
    threads = [ThreadText(r["text"], "Here is what I found about that.") for r in rows]
    context = analyzer.fit_context(threads, ProjectContext())
    categories = [a.category for a in analyzer.analyze_batch(threads, context)]
    intents = [r["intent"] for r in rows]
    # Measured 0.72 on this sample (172 categories; 0.66 before local scaling, 0.15 with
    # KMeans capped at 50); 0.70 on all 4,500 test questions (bench/categories.py).
    assert adjusted_rand_score(intents, categories) >= 0.68
    # The count follows the questions: neither one per question nor a fixed cap.
    assert 130 <= len(set(categories)) <= 230
