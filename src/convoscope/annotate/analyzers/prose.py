"""The prose of a message: code, URLs and markup removed, split into words and key terms."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_FENCED_CODE = re.compile(r"```[^\n]*\n.*?(?:```|\Z)", re.DOTALL)
_FENCE_LANGUAGE = re.compile(r"```[ \t]*([A-Za-z][\w+#.-]*)")
_INLINE_CODE = re.compile(r"`([^`\n]*)`")
_URL = re.compile(r"https?://\S+|www\.\S+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# Latin-script words, keeping inner apostrophes, dots and hyphens ("doesn't", "Node.js").
_LATIN = "A-Za-z\u00c0-\u024f"
_LATIN_WORD = re.compile(rf"[{_LATIN}](?:[{_LATIN}0-9_'’.+#-]*[{_LATIN}0-9])?|\d+(?:[.,]\d+)*")
# Japanese has no spaces: katakana runs are mostly loanwords (product and feature names),
# kanji runs mostly compound nouns, so both make usable key terms; hiragana is grammar.
_KATAKANA_RUN = re.compile(r"[\u30a0-\u30ffー]{2,}")
_KANJI_RUN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]{2,}")


def fence_languages(text: str) -> list[str]:
    """Languages named on opening code fences, e.g. ```python -> "python"."""
    return [m.group(1).lower() for m in _FENCE_LANGUAGE.finditer(text)]


def strip_code(text: str) -> str:
    """Remove fenced code blocks, inline code spans and URLs: what is left is prose."""
    text = _FENCED_CODE.sub(" ", text)
    text = _INLINE_CODE.sub(" ", text)
    text = _URL.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def has_cjk(text: str) -> bool:
    """True when the text contains Chinese, Japanese or Korean script."""
    return _CJK.search(text) is not None


def cjk_share(text: str) -> float:
    """Share of non-space characters that are CJK script."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(1 for c in chars if _CJK.match(c)) / len(chars)


def words(text: str) -> list[str]:
    """Latin-script words and numbers, in order, case kept."""
    return [w.rstrip(".") for w in _LATIN_WORD.findall(text)]


@cache
def stopwords() -> frozenset[str]:
    """Function words of the languages the analyzer knows (en, de, fr, es, pt)."""
    text = resources.files("convoscope.annotate.analyzers").joinpath("data/stopwords.txt")
    found: set[str] = set()
    for line in text.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            found.update(line.split())
    return frozenset(found)


def key_terms(text: str) -> list[str]:
    """Lowercase content terms: words that are not stopwords or numbers, plus CJK runs."""
    prose = strip_code(text)
    stop = stopwords()
    terms = [
        w.lower()
        for w in words(prose)
        if len(w) > 1 and not w[0].isdigit() and w.lower() not in stop
    ]
    if has_cjk(prose):
        terms.extend(_KATAKANA_RUN.findall(prose))
        terms.extend(_KANJI_RUN.findall(prose))
    return terms
