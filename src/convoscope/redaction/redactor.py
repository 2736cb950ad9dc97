"""Replacing what the detectors find with typed placeholders, in texts and JSON values.

``<EMAIL>`` says what was there without saying what it was. With a key, the placeholder
carries a keyed hash of the value (``<EMAIL:5f0c1e9a2b7d>``, HMAC-SHA256 of the
normalised value, 48 bits): the same address gives the same placeholder, so users and
repeated values can still be counted, while reading it back needs the key and a guess.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from convoscope.redaction.detectors import DETECTORS, Detector, Finding, Kind

# The placeholder put under a denied key, whatever the value was.
REDACTED = "<REDACTED>"


class Recognizer(Protocol):
    """Something beyond the regular expressions that finds spans (Presidio's NER)."""

    kinds: frozenset[Kind]

    def find(self, text: str) -> Iterable[Finding]: ...


@dataclass(frozen=True, slots=True)
class RedactionPolicy:
    """What a project redacts. Keys are compared without case, at any depth."""

    kinds: frozenset[Kind]
    # The HMAC key; None gives bare placeholders.
    hash_key: bytes | None = None
    # Values under these keys are stored as sent (e.g. a plan name, a country code).
    allow_keys: frozenset[str] = frozenset()
    # Values under these keys are replaced whole, whatever they hold.
    deny_keys: frozenset[str] = frozenset()


@dataclass(slots=True)
class Redactor:
    """Applies one policy; ``counts`` adds up what it replaced, per kind."""

    policy: RedactionPolicy
    recognizers: tuple[Recognizer, ...] = ()
    counts: Counter[str] = field(default_factory=Counter)
    _detectors: tuple[Detector, ...] = ()
    _allow: frozenset[str] = frozenset()
    _deny: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self._detectors = tuple(d for d in DETECTORS if d.kind in self.policy.kinds)
        self._allow = frozenset(k.lower() for k in self.policy.allow_keys)
        self._deny = frozenset(k.lower() for k in self.policy.deny_keys)

    def text(self, text: str) -> str:
        """The text with every finding replaced by its placeholder."""
        findings = self.find(text)
        if not findings:
            return text
        parts: list[str] = []
        at = 0
        for finding in findings:
            parts.append(text[at : finding.start])
            parts.append(self.placeholder(finding.kind, finding.value))
            at = finding.end
            self.counts[finding.kind.value] += 1
        parts.append(text[at:])
        return "".join(parts)

    def find(self, text: str) -> list[Finding]:
        """The findings in ``text``, in order, none overlapping (earlier detectors win)."""
        found: list[Finding] = []
        # Cheap guard: nothing any detector finds is shorter than 7 characters.
        if len(text) < 7:
            return found
        taken: list[tuple[int, int]] = []
        for detector in self._detectors:
            for finding in detector.find(text):
                if not _overlaps(taken, finding.start, finding.end):
                    taken.append((finding.start, finding.end))
                    found.append(finding)
        for recognizer in self.recognizers:
            for finding in recognizer.find(text):
                if finding.kind in self.policy.kinds and not _overlaps(
                    taken, finding.start, finding.end
                ):
                    taken.append((finding.start, finding.end))
                    found.append(finding)
        found.sort(key=lambda f: f.start)
        return found

    def placeholder(self, kind: Kind, value: str) -> str:
        if self.policy.hash_key is None:
            return f"<{kind.placeholder}>"
        digest = hmac.new(self.policy.hash_key, _normalise(kind, value).encode(), hashlib.sha256)
        return f"<{kind.placeholder}:{digest.hexdigest()[:12]}>"

    def json(self, value: Any) -> Any:
        """A JSON value with its strings redacted; object keys are kept, per the lists."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self._member(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return value

    def _member(self, key: str, value: Any) -> Any:
        lowered = key.lower()
        if lowered in self._allow:
            return value
        if lowered in self._deny and value is not None:
            self.counts["denied_key"] += 1
            return REDACTED
        return self.json(value)

    def content(self, content: Any) -> Any:
        """A message's content: a string, or content parts whose texts are redacted."""
        if isinstance(content, str):
            return self.text(content)
        if isinstance(content, list):
            return [
                {**part, "text": self.text(part["text"])}
                if isinstance(part, Mapping) and isinstance(part.get("text"), str)
                else part
                for part in content
            ]
        return content


def _overlaps(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(start < t_end and t_start < end for t_start, t_end in taken)


def _normalise(kind: Kind, value: str) -> str:
    """The form two spellings of one value share, so they hash alike."""
    if kind in (Kind.PHONE, Kind.CARD):
        return "".join(c for c in value if c.isdigit())
    if kind is Kind.IBAN:
        return value.replace(" ", "").upper()
    if kind in (Kind.EMAIL, Kind.IP):
        return value.lower()
    return value
