"""The precision and recall the README gives for each kind are those of the detectors on
the labelled texts of tests/data/pii_labelled.jsonl, and stay above a floor."""

from __future__ import annotations

from pathlib import Path

from scripts.redaction_quality import score, table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_the_readme_quotes_the_measured_table() -> None:
    assert table(score()) in README


def test_every_kind_keeps_its_precision_and_recall() -> None:
    for kind, s in score().items():
        assert s.labelled >= 9, kind
        assert s.precision >= 0.9, (kind, s)
        assert s.recall >= 0.8, (kind, s)
