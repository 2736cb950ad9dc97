"""`OfflineAnalyzer`: every annotation field from local rules and models, no network, no LLM.

Per thread it runs language detection (fastText lite), VADER plus domain lexicons, regex
rules, gazetteers and one MiniLM embedding (two when no question-type rule fires). The
field modules next to this one say what each field is derived from; README.md in the
package has the measured accuracy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from convoscope.annotate.analyzers.categories import assign_categories, fit_categories
from convoscope.annotate.analyzers.clarity import is_question_clear
from convoscope.annotate.analyzers.embeddings import SentenceEncoder
from convoscope.annotate.analyzers.emotions import classify_emotion
from convoscope.annotate.analyzers.entities import (
    GlossaryMatcher,
    ThirdPartyGazetteer,
    learn_glossary,
    resolve_mentions,
    unique_names,
)
from convoscope.annotate.analyzers.grounding import SCOPE_REFUSAL, assess_grounding
from convoscope.annotate.analyzers.languages import LanguageDetector, fence_language_names
from convoscope.annotate.analyzers.prose import (
    fence_languages,
    has_cjk,
    key_terms,
    strip_code,
    words,
)
from convoscope.annotate.analyzers.question_types import PROTOTYPES, QuestionTypeClassifier
from convoscope.annotate.analyzers.relevance import is_question_on_topic
from convoscope.annotate.analyzers.sentiment import SentimentScorer
from convoscope.annotate.analyzers.subjects import summarize_question
from convoscope.annotate.model import (
    QUESTION_TYPES,
    Annotation,
    ProjectContext,
    QuestionType,
    Sentiment,
    ThreadText,
)

# URL path segments that say nothing about the topic: locales, versions, "docs".
_URL_NOISE = frozenset(
    "docs doc help en de fr es pt ja ko zh it nl ru pt-br en-us v1 v2 v3 www index html "
    "latest stable reference guide guides".split()
)
_URL_PREFIX = re.compile(r"^[a-z][\w+.-]*://[^/]+", re.IGNORECASE)


def url_path_words(urls: Sequence[str]) -> list[str]:
    """Words of the paths of cited pages ("/de/webhooks/signatures" -> webhooks, signatures)."""
    found: list[str] = []
    for url in urls:
        path = _URL_PREFIX.sub("", url).split("?")[0].split("#")[0]
        for part in re.split(r"[/_.\-]+", path.lower()):
            if part and not part.isdigit() and part not in _URL_NOISE and part not in found:
                found.append(part)
    return found


def topic_terms(thread: ThreadText) -> list[str]:
    """What a thread is about: the question's key terms and the cited pages' path words."""
    return key_terms(thread.question) + url_path_words(thread.link_urls)


def topic_text(thread: ThreadText, language: str) -> str:
    """What a thread's category is made of (`categories.py`): an English question as written,
    another language's by its key terms, then the cited pages' path words.

    MiniLM is English-first: whole non-English questions group by language rather than
    topic, so their function words go. English keeps them, because they carry intent ("how
    much is" vs "when is"): on CLINC150 the whole question scored an adjusted Rand index
    0.07-0.10 above its key terms, on the labelled set 0.01-0.10 below.
    """
    paths = url_path_words(thread.link_urls)
    if language == "en":
        parts = [strip_code(thread.question), *paths]
    else:
        parts = [*key_terms(thread.question), *paths]
    return " ".join(p for p in parts if p) or thread.question


class OfflineAnalyzer:
    """Annotates threads offline. Load once and reuse: loading takes about a second."""

    name = "offline"
    # Bump when a rule, lexicon or model changes, so stored annotations can be recomputed.
    version = "1"

    def __init__(self, *, threads: int = 2) -> None:
        self._encoder = SentenceEncoder(threads=threads)
        self._languages = LanguageDetector()
        self._sentiment = SentimentScorer()
        self._gazetteer = ThirdPartyGazetteer()
        prototype_vectors = {
            kind: self._encoder.embed(list(PROTOTYPES[kind])) for kind in QUESTION_TYPES
        }
        self._question_types = QuestionTypeClassifier(prototype_vectors)

    @property
    def embedder(self) -> str:
        """Name of the embedding model; a category model made with another one is ignored."""
        return self._encoder.name

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Unit MiniLM vectors of arbitrary texts."""
        return self._encoder.embed(texts)

    def topic_vectors(
        self, threads: Sequence[ThreadText], languages: Sequence[str] | None = None
    ) -> npt.NDArray[np.float32]:
        """The vectors categories are made of (see `topic_text`); `languages` are the threads'
        first languages, detected when not given."""
        if languages is None:
            languages = [self.first_language(t) for t in threads]
        return self._encoder.embed(
            [topic_text(t, language) for t, language in zip(threads, languages, strict=True)]
        )

    def first_language(self, thread: ThreadText) -> str:
        """The thread's language, or "" when it is too short to tell."""
        found = self._languages.thread_languages(thread.question, thread.answer)
        return found[0] if found else ""

    def learn_glossary(self, threads: Sequence[ThreadText]) -> tuple[str, ...]:
        """First-party terms learned from the titles of the links the answers cite."""
        titles = [title for t in threads for title in t.link_titles]
        return learn_glossary(titles, [t.answer for t in threads], self._gazetteer)

    def fit_context(
        self, threads: Sequence[ThreadText], context: ProjectContext, *, seed: int = 0
    ) -> ProjectContext:
        """Learn the glossary and (re)cluster the categories from a project's threads.

        Category ids and names are kept for clusters that match the previous model.
        """
        learned = sorted(
            {*context.learned_glossary, *self.learn_glossary(threads)}, key=str.casefold
        )
        categories, _ = fit_categories(
            [topic_terms(t) for t in threads],
            self.topic_vectors(threads),
            embedder=self.embedder,
            previous=context.categories,
            seed=seed,
        )
        return replace(context, learned_glossary=tuple(learned), categories=categories)

    def analyze_batch(
        self, threads: Sequence[ThreadText], context: ProjectContext
    ) -> list[Annotation]:
        """Annotate threads of one project; categories come from `context.categories`."""
        if not threads:
            return []
        learned = {*context.learned_glossary, *self.learn_glossary(threads)}
        terms = [*context.glossary, *sorted(learned - set(context.glossary), key=str.casefold)]
        # Learned single words ("Shield") are names only when capitalised.
        exact_case = [
            t for t in learned if " " not in t and t not in context.glossary and t[:1].isupper()
        ]
        glossary = GlossaryMatcher(terms, exact_case)

        drafts = [self._draft(t, glossary) for t in threads]
        categories: list[str | None] = [None] * len(threads)
        model = context.categories
        if model is not None and model.embedder == self.embedder and len(model.ids):
            indexes = assign_categories(
                model, self.topic_vectors(threads, [d.language for d in drafts])
            )
            categories = [model.names[int(i)] for i in indexes]
        untyped = [i for i, d in enumerate(drafts) if d.question_type is None]
        if untyped:
            vectors = self._encoder.embed(
                [strip_code(threads[i].question) or threads[i].question for i in untyped]
            )
            for row, i in enumerate(untyped):
                drafts[i].question_type = self._question_types.by_prototype(vectors[row])
        return [self._finish(t, d, c) for t, d, c in zip(threads, drafts, categories, strict=True)]

    # --- per-thread work ---------------------------------------------------------------

    def _draft(self, thread: ThreadText, glossary: GlossaryMatcher) -> _Draft:
        prose = strip_code(thread.question)
        question_words = words(prose)
        languages = self._languages.thread_languages(thread.question, thread.answer)
        mentions = resolve_mentions(
            [*glossary.mentions(thread.question), *self._gazetteer.mentions(thread.question)]
        )
        code_languages = fence_language_names(
            fence_languages(thread.question + "\n" + thread.answer)
        )
        for m in mentions:
            if m.code_language and m.code_language not in code_languages:
                code_languages.append(m.code_language)
        language = languages[0] if languages else ""
        sentiment = self._sentiment.classify(prose, language)
        word_count = len(question_words) if not has_cjk(prose) else max(1, len(prose) // 3)
        return _Draft(
            prose=prose,
            language=language,
            question_words=question_words,
            languages=[*languages, *(c for c in code_languages if c not in languages)],
            first_party=unique_names(m for m in mentions if m.is_first_party),
            third_party=unique_names(m for m in mentions if not m.is_first_party),
            sentiment=sentiment,
            question_type=self._question_types.by_rules(
                prose, word_count, is_declined=SCOPE_REFUSAL.search(thread.answer)
            ),
        )

    def _finish(self, thread: ThreadText, draft: _Draft, category: str | None) -> Annotation:
        question_type: QuestionType = draft.question_type or "other"
        is_on_topic = is_question_on_topic(
            thread.question, thread.answer, names_product=bool(draft.first_party)
        )
        is_clear = is_question_clear(
            draft.question_words,
            key_terms(thread.question),
            thread.answer,
            is_cjk=has_cjk(draft.prose),
        )
        grounding = assess_grounding(
            thread.answer,
            len(words(strip_code(thread.answer))),
            question_type,
            is_on_topic=is_on_topic,
            cites_sources=bool(thread.link_urls or thread.link_titles),
            has_negative_feedback=thread.has_negative_feedback,
        )
        subject = summarize_question(thread.question)
        gap = f"{grounding.gap_kind}: {subject}" if grounding.gap_kind else None
        return Annotation(
            subject=subject,
            category=category,
            question_type=question_type,
            languages=draft.languages,
            sentiment=draft.sentiment,
            emotion=classify_emotion(draft.prose, draft.sentiment),
            first_party_entities=draft.first_party,
            third_party_entities=draft.third_party,
            is_on_topic=is_on_topic,
            is_clear=is_clear,
            is_documented=grounding.is_documented,
            is_feature_supported=grounding.is_feature_supported,
            is_answer_confident=grounding.is_answer_confident,
            gap_summary=gap,
        )


@dataclass
class _Draft:
    """Fields computed before the batch's embeddings are available."""

    prose: str
    language: str
    question_words: list[str]
    languages: list[str]
    first_party: list[str]
    third_party: list[str]
    sentiment: Sentiment
    question_type: QuestionType | None
