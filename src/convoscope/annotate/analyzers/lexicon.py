"""`PhraseSet`: a list of phrases (small regexes) matched as whole words, case-insensitively."""

from __future__ import annotations

import re
from collections.abc import Iterable

_CJK_START = re.compile(r"^[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_PUNCTUATION = re.compile(r"[\\?!+]+")


class PhraseSet:
    """Whole-word matching of many phrases at once.

    Phrases are regex fragments ("doesn't work", "not (?:yet )?supported"); an apostrophe
    also matches a typographic one. Latin phrases need word boundaries; Japanese phrases
    (no spaces between words) and punctuation ("!!+") match anywhere.
    """

    def __init__(self, phrases: Iterable[str]) -> None:
        parts: list[str] = []
        for phrase in phrases:
            phrase = phrase.replace("'", "['’]")
            if _CJK_START.match(phrase) or _PUNCTUATION.fullmatch(phrase):
                parts.append(f"(?:{phrase})")
            else:
                parts.append(rf"(?<![\w])(?:{phrase})(?![\w])")
        self.pattern = re.compile("|".join(parts) or r"(?!x)x", re.IGNORECASE)

    def search(self, text: str) -> bool:
        return self.pattern.search(text) is not None

    def count(self, text: str) -> int:
        return sum(1 for _ in self.pattern.finditer(text))

    def matches(self, text: str) -> list[str]:
        return [m.group(0) for m in self.pattern.finditer(text)]
