"""`firstPartyEntities` / `thirdPartyEntities`: gazetteer matching in the question.

Third-party names come from the shipped list `data/third_party.tsv` (tools, vendors, clouds,
programming languages); first-party names from the project's glossary plus the terms learned
from the titles of the links the answers cite (`learn_glossary`). No statistical NER: spaCy's
small model tagged "PyCharm" and "Docker" as PERSON and missed most product names, while a
gazetteer finds every configured name.

Entities are taken from the question only: they describe what users ask about. When a first-
and a third-party name overlap, the first-party one wins, and longer names win over shorter
ones ("Nimbus KV" over "Nimbus").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from convoscope.annotate.analyzers.prose import stopwords

# Latin-letter boundaries, so names are found inside Japanese text ("Node.jsで") and next
# to punctuation, but not inside longer words ("R" in "Rückerstattung").
_WORD_CHAR = r"[A-Za-z0-9_\u00c0-\u024f]"
_BEFORE = rf"(?<!{_WORD_CHAR})"
_AFTER = rf"(?!{_WORD_CHAR})"


@dataclass(frozen=True)
class GazetteerEntry:
    name: str
    kind: str
    spellings: tuple[str, ...]
    code_language: str | None
    is_case_sensitive: bool


@dataclass(frozen=True)
class Mention:
    name: str
    start: int
    end: int
    is_first_party: bool
    code_language: str | None = None


def _spelling_pattern(spelling: str) -> str:
    # A space in a name also matches a hyphen: "Microsoft-Teams-Integration" (German).
    parts = [re.escape(p) for p in re.split(r"[\s-]+", spelling.strip())]
    return r"[\s-]+".join(parts)


def _fold(text: str) -> str:
    return re.sub(r"[\s-]+", " ", text).casefold()


@cache
def third_party_entries() -> tuple[GazetteerEntry, ...]:
    """The shipped third-party gazetteer."""
    path = resources.files("convoscope.annotate.analyzers").joinpath("data/third_party.tsv")
    entries: list[GazetteerEntry] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, kind, aliases, code_language, flags = (line.split("\t") + [""] * 5)[:5]
        spellings = (name, *(a for a in aliases.split("|") if a))
        entries.append(
            GazetteerEntry(
                name=name,
                kind=kind,
                spellings=spellings,
                code_language=code_language or None,
                is_case_sensitive=flags.strip() == "cs",
            )
        )
    return tuple(entries)


class _NameMatcher:
    """Finds any of a set of spellings, longest first, and maps each to its canonical name."""

    def __init__(
        self, spellings: dict[str, str], *, is_case_sensitive: bool, plurals: bool
    ) -> None:
        self._is_case_sensitive = is_case_sensitive
        if plurals:
            # "Spaces" in the glossary also finds "one Space"
            singulars = {s[:-1]: n for s, n in spellings.items() if s.endswith("s") and len(s) > 3}
            spellings = {**singulars, **spellings}
        self._canonical = {self._key(s): name for s, name in spellings.items()}
        ordered = sorted(spellings, key=len, reverse=True)
        plural = r"(?:e?s)?" if plurals else ""
        body = "|".join(_spelling_pattern(s) for s in ordered)
        flags = 0 if is_case_sensitive else re.IGNORECASE
        self._pattern = (
            re.compile(f"{_BEFORE}(?:{body}){plural}{_AFTER}", flags) if ordered else None
        )
        self._plurals = plurals

    def _key(self, text: str) -> str:
        folded = re.sub(r"[\s-]+", " ", text)
        return folded if self._is_case_sensitive else folded.casefold()

    def find(self, text: str) -> Iterable[tuple[str, int, int]]:
        if self._pattern is None:
            return
        for m in self._pattern.finditer(text):
            key = self._key(m.group(0))
            name = self._canonical.get(key)
            if name is None and self._plurals:
                for suffix in ("es", "s"):
                    if key.endswith(suffix) and key[: -len(suffix)] in self._canonical:
                        name = self._canonical[key[: -len(suffix)]]
                        break
            if name is not None:
                yield name, m.start(), m.end()


class ThirdPartyGazetteer:
    """Matches the shipped third-party names."""

    def __init__(self, entries: Sequence[GazetteerEntry] | None = None) -> None:
        entries = third_party_entries() if entries is None else entries
        self._code_language = {e.name: e.code_language for e in entries}
        sensitive = {s: e.name for e in entries if e.is_case_sensitive for s in e.spellings}
        insensitive = {s: e.name for e in entries if not e.is_case_sensitive for s in e.spellings}
        self._matchers = (
            _NameMatcher(sensitive, is_case_sensitive=True, plurals=False),
            _NameMatcher(insensitive, is_case_sensitive=False, plurals=False),
        )
        self._known = {_fold(s) for e in entries for s in e.spellings}

    def is_known(self, term: str) -> bool:
        """True when `term` is one of the gazetteer's spellings (any case)."""
        return _fold(term) in self._known

    def mentions(self, text: str) -> list[Mention]:
        return [
            Mention(name, start, end, False, self._code_language.get(name))
            for matcher in self._matchers
            for name, start, end in matcher.find(text)
        ]


class GlossaryMatcher:
    """Finds a project's first-party terms (plural -s/-es allowed).

    Terms match in any case, except single words learned from titles ("Shield",
    "Checkout"), which are names only when capitalised: "checkout page" is not "Checkout".
    """

    def __init__(self, terms: Sequence[str], exact_case_terms: Sequence[str] = ()) -> None:
        exact = set(exact_case_terms)
        self._matchers = (
            _NameMatcher(
                {t: t for t in terms if t not in exact}, is_case_sensitive=False, plurals=True
            ),
            _NameMatcher({t: t for t in exact}, is_case_sensitive=True, plurals=True),
        )

    def mentions(self, text: str) -> list[Mention]:
        return [
            Mention(name, start, end, True)
            for matcher in self._matchers
            for name, start, end in matcher.find(text)
        ]


def resolve_mentions(mentions: Iterable[Mention]) -> list[Mention]:
    """Drop mentions overlapping a better one: first-party first, then the longer, then earlier."""
    ranked = sorted(mentions, key=lambda m: (not m.is_first_party, -(m.end - m.start), m.start))
    kept: list[Mention] = []
    for m in ranked:
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.start)


def unique_names(mentions: Iterable[Mention]) -> list[str]:
    names: list[str] = []
    for m in mentions:
        if m.name not in names:
            names.append(m.name)
    return names


# --- learning first-party terms from cited link titles -------------------------------------

# The site part of a title ("| Acorn Pay Docs") ends with one of these; what precedes it is
# the product name.
_SITE_SUFFIX = re.compile(
    r"\s*\b(?:docs|documentation|help\s*cent(?:er|re)|help|api\s+reference|reference|"
    r"developers?|developer\s+docs|guides?|knowledge\s*base|support|blog|manual)\s*$",
    re.IGNORECASE,
)
_TITLE_SEPARATOR = re.compile(r"\s+[|–—·•»]\s+|\s+-\s+|:\s+")
# Title verbs that start a capitalised run without being part of the name
# ("Create Payment Links" -> "Payment Links").
_TITLE_VERBS = frozenset(
    "add build configure connect create delete deploy enable get install manage migrate "
    "set setup use verify update upgrade about introducing introduction to the a an".split()
)
# identifiers that look like code: nimbus.toml, @nimbus/functions, acorn-node
_CODE_LIKE = re.compile(r"^@?[a-z0-9][\w]*(?:[./@][\w-]+|-[a-z0-9]+)+$")
_CAPITALISED = re.compile(r"^(?:[A-Z][\w'’.+-]*|[A-Z0-9]{2,})$")
_SENTENCE_END = re.compile(r"[.!?:;\n→>]\s*$")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")


def _is_acronym(token: str) -> bool:
    return token.isupper() and len(token) <= 5


def _title_candidates(title: str) -> tuple[str | None, list[str], list[str]]:
    """(site name, multi-word or code-like names, single capitalised words) of a title."""
    site: str | None = None
    strong: list[str] = []
    weak: list[str] = []
    segments = [s.strip() for s in _TITLE_SEPARATOR.split(title) if s.strip()]
    if len(segments) > 1 and _SITE_SUFFIX.search(segments[-1]):
        site = _SITE_SUFFIX.sub("", segments.pop()).strip() or None
    # CJK script separates names the way punctuation does ("Shieldの概要").
    segments = [p.strip() for s in segments for p in _CJK_RUN.split(s) if p.strip()]
    for segment in segments:
        tokens = segment.split()
        run: list[str] = []
        for token in [*tokens, ""]:
            if token and _CAPITALISED.match(token) and "-" not in token:
                run.append(token)
                continue
            while run and (run[0].lower() in _TITLE_VERBS or run[0].lower().endswith("ing")):
                run.pop(0)
            if len(run) >= 2 and not all(_is_acronym(t) for t in run):
                strong.append(" ".join(run))
            elif len(run) == 1:
                weak.append(run[0])
            run = []
            if token and _CODE_LIKE.match(token):
                strong.append(token)
    return site, strong, weak


def _capitalised_mid_sentence(word: str, texts: Sequence[str]) -> bool:
    pattern = re.compile(rf"{_BEFORE}{re.escape(word)}{_AFTER}")
    for text in texts:
        for m in pattern.finditer(text):
            if m.start() > 0 and not _SENTENCE_END.search(text[: m.start()]):
                return True
    return False


def _appears_in(term: str, text: str) -> bool:
    # singular or plural: the title says "Log Drains", an answer "a Log Drain"
    stem = term[:-1] if term.endswith("s") and not term.endswith("ss") else term
    pattern = rf"{_BEFORE}{_spelling_pattern(stem)}(?:e?s)?{_AFTER}"
    return re.search(pattern, text) is not None


def learn_glossary(
    link_titles: Sequence[str],
    answers: Sequence[str],
    gazetteer: ThirdPartyGazetteer,
) -> tuple[str, ...]:
    """First-party terms found in the titles of the links answers cite.

    Taken: the product name before "Docs"/"Help Center" in a title's site part; code-like
    identifiers (`nimbus.toml`); capitalised multi-word names ("Payment Links", "Nimbus KV")
    that the answers also use; and a single capitalised word ("Shield") when it starts a
    name in at least two titles and the answers write it capitalised mid-sentence and never
    in lower case, which separates names from ordinary title words ("Refunds", "Pricing").
    Names in the third-party gazetteer, or containing one ("Python SDK"), are left out.
    """
    stop = stopwords()
    strong: dict[str, str] = {}
    weak: dict[str, set[str]] = {}
    learned: dict[str, str] = {}
    for title in dict.fromkeys(link_titles):
        site, candidates, singles = _title_candidates(title)
        if site is not None and not gazetteer.is_known(site):
            learned.setdefault(site.casefold(), site)
        for term in candidates:
            strong.setdefault(term.casefold(), term)
        for term in singles:
            weak.setdefault(term, set()).add(title)
    corpus = "\n".join(answers)
    product_words = {w.casefold() for name in learned.values() for w in name.split()}
    for key, term in strong.items():
        tokens = term.split()
        if key in stop or gazetteer.is_known(term):
            continue
        # "Python SDK" names someone else's thing; "Nimbus Postgres" is the product's own.
        if any(gazetteer.is_known(t) for t in tokens) and not any(
            t.casefold() in product_words for t in tokens
        ):
            continue
        names_product = any(t.casefold() in product_words for t in tokens)
        if names_product or _CODE_LIKE.match(term) or _appears_in(term, corpus):
            learned.setdefault(key, term)
    for term, titles in weak.items():
        key = term.casefold()
        if key in learned or key in stop or len(term) < 3 or term.isupper() or len(titles) < 2:
            continue
        if gazetteer.is_known(term):
            continue
        if re.search(rf"{_BEFORE}{re.escape(term.lower())}{_AFTER}", corpus):
            continue
        if _capitalised_mid_sentence(term, answers):
            learned[key] = term
    return tuple(sorted(learned.values(), key=str.casefold))
