"""With the convoscope[pii] extra, Presidio finds names and locations through a spaCy
pipeline loaded from disk, with no network at all; without the extra this module skips."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from convoscope.redaction import DEFAULT_KINDS, Kind, RedactionPolicy, Redactor

pytest.importorskip("presidio_analyzer", reason="the convoscope[pii] extra is not installed")
spacy = pytest.importorskip("spacy", reason="the convoscope[pii] extra is not installed")

from convoscope.redaction.presidio import PresidioRecognizer  # noqa: E402


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    """A small English pipeline whose entity ruler knows a few names and places."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": [{"LOWER": "jane"}, {"LOWER": "doe"}]},
            {"label": "PERSON", "pattern": "Marek"},
            {"label": "GPE", "pattern": "Berlin"},
            {"label": "LOC", "pattern": [{"LOWER": "lake"}, {"LOWER": "constance"}]},
        ]
    )
    path = tmp_path / "pipeline"
    nlp.to_disk(path)
    return path


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection attempt fails the test: nothing may be fetched."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_names_and_places_become_placeholders_offline(pipeline: Path, no_network: None) -> None:
    recognizer = PresidioRecognizer(pipeline)
    redactor = Redactor(
        RedactionPolicy(kinds=DEFAULT_KINDS | {Kind.PERSON, Kind.LOCATION}),
        recognizers=(recognizer,),
    )
    text = "Jane Doe moved to Berlin; Marek (marek@example.com) sails on Lake Constance"
    assert redactor.text(text) == (
        "<PERSON> moved to <LOCATION>; <PERSON> (<EMAIL>) sails on <LOCATION>"
    )
    # tldextract, imported by Presidio, answers from its bundled list without fetching.
    import tldextract

    assert tldextract.extract("docs.example.co.uk").suffix == "co.uk"


def test_without_the_kinds_asked_for_the_recognizer_changes_nothing(pipeline: Path) -> None:
    redactor = Redactor(
        RedactionPolicy(kinds=frozenset({Kind.EMAIL})), recognizers=(PresidioRecognizer(pipeline),)
    )
    assert redactor.text("Jane Doe, jane@example.com") == "Jane Doe, <EMAIL>"


def test_a_missing_pipeline_is_refused_not_downloaded(tmp_path: Path, no_network: None) -> None:
    with pytest.raises(ValueError, match="none is downloaded"):
        PresidioRecognizer(tmp_path / "absent")
