"""Finding personal data and secrets in text, and replacing them with typed placeholders.

Below the store: it knows texts and JSON values, nothing of tables, requests or wire
models, so every write path can call it (the store applies it to every upsert). The
named-entity recognizer (Presidio, the ``convoscope[pii]`` extra) is installed by the
process at start with ``use_named_entities``; without it, names and locations are not
found.
"""

from __future__ import annotations

from convoscope.redaction.detectors import (
    DEFAULT_KINDS,
    NAMED_ENTITY_KINDS,
    Finding,
    Kind,
)
from convoscope.redaction.redactor import REDACTED, Recognizer, RedactionPolicy, Redactor

_named_entities: list[Recognizer] = []


def use_named_entities(recognizer: Recognizer | None) -> None:
    """Install (or, with None, remove) the recognizer for names and locations."""
    _named_entities.clear()
    if recognizer is not None:
        _named_entities.append(recognizer)


def named_entity_recognizers() -> tuple[Recognizer, ...]:
    return tuple(_named_entities)


__all__ = [
    "DEFAULT_KINDS",
    "NAMED_ENTITY_KINDS",
    "REDACTED",
    "Finding",
    "Kind",
    "Recognizer",
    "RedactionPolicy",
    "Redactor",
    "named_entity_recognizers",
    "use_named_entities",
]
