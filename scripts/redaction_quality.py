"""Precision and recall of each redaction kind on the labelled texts in tests/data/.

    python scripts/redaction_quality.py

prints the Markdown table the README quotes (a test checks that it still does). A
finding counts as right when it overlaps a labelled value of the same kind.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from convoscope.redaction import DEFAULT_KINDS, RedactionPolicy, Redactor

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "pii_labelled.jsonl"


@dataclass(frozen=True, slots=True)
class Score:
    labelled: int
    found: int
    right: int

    @property
    def precision(self) -> float:
        return self.right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.labelled if self.labelled else 1.0


def score(path: Path = LABELLED) -> dict[str, Score]:
    redactor = Redactor(RedactionPolicy(kinds=DEFAULT_KINDS))
    labelled: Counter[str] = Counter()
    found: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        text: str = item["text"]
        spans = []
        for label in item["pii"]:
            start = text.index(label["value"])
            spans.append((label["kind"], start, start + len(label["value"])))
            labelled[label["kind"]] += 1
        matched: set[int] = set()
        for finding in redactor.find(text):
            found[finding.kind.value] += 1
            for i, (kind, start, end) in enumerate(spans):
                same = kind == finding.kind.value
                if same and i not in matched and finding.start < end and start < finding.end:
                    matched.add(i)
                    right[kind] += 1
                    break
    kinds = sorted(k.value for k in DEFAULT_KINDS)
    return {k: Score(labelled[k], found[k], right[k]) for k in kinds}


def table(scores: dict[str, Score]) -> str:
    lines = [
        "| Kind | Labelled | Found | Right | Precision | Recall |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind, s in scores.items():
        lines.append(
            f"| `{kind}` | {s.labelled} | {s.found} | {s.right} | "
            f"{s.precision:.2f} | {s.recall:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(score()))  # noqa: T201
