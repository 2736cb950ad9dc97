"""The offline analyzer's guarantees: accuracy floors on the labelled set, the exact rule
behind each field, categories that stay put when new questions arrive, and no network use.

The floors sit a few points below what was measured (see
src/convoscope/annotate/README.md); a rule change that costs more than that fails here.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.metrics import adjusted_rand_score  # type: ignore[import-untyped]

from convoscope.annotate import (
    Analyzer,
    Annotation,
    CategoryModel,
    OfflineAnalyzer,
    ProjectContext,
    ThreadText,
)
from convoscope.annotate.analyzers.categories import (
    assign_categories,
    cluster_vectors,
    ctfidf_terms,
    fit_categories,
)
from convoscope.annotate.analyzers.embeddings import SentenceEncoder, model_dir
from convoscope.annotate.analyzers.entities import ThirdPartyGazetteer, learn_glossary
from convoscope.annotate.analyzers.languages import LanguageDetector
from convoscope.annotate.analyzers.minilm_graph import load_weights
from convoscope.annotate.analyzers.offline import url_path_words
from convoscope.annotate.analyzers.subjects import summarize_question

DATA = Path(__file__).parent.parent / "data" / "annotation_labelled.jsonl"
# Configured first-party glossaries of the labelled set's products; everything else
# first-party is learned from the titles of cited links.
GLOSSARIES: dict[str, tuple[str, ...]] = {
    "acorn": (
        "Acorn Pay",
        "Acorn Dashboard",
        "Acorn CLI",
        "Acorn Checkout",
        "Acorn Connect",
        "Smart Retries",
    ),
    "nimbus": ("Nimbus", "Nimbus CLI", "nimbus.toml", "@nimbus/functions"),
    "quill": ("Quill", "Quill API", "Spaces"),
    "ledgerly": ("Ledgerly",),
}


def thread_of(row: dict[str, Any]) -> ThreadText:
    return ThreadText(
        question=row["question"],
        answer=row["answer"],
        link_titles=[link["title"] for link in row["links"]],
        link_urls=[link["url"] for link in row["links"]],
        has_negative_feedback=row["feedback"] == "negative",
        has_positive_feedback=row["feedback"] == "positive",
    )


@pytest.fixture(scope="module")
def analyzer() -> OfflineAnalyzer:
    return OfflineAnalyzer()


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    with DATA.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def annotated(
    analyzer: OfflineAnalyzer, rows: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], Annotation]]:
    """Each labelled row with its annotation; categories fitted per product first."""
    pairs: list[tuple[dict[str, Any], Annotation]] = []
    for project, glossary in GLOSSARIES.items():
        project_rows = [r for r in rows if r["project"] == project]
        threads = [thread_of(r) for r in project_rows]
        context = analyzer.fit_context(threads, ProjectContext(glossary=glossary))
        pairs.extend(zip(project_rows, analyzer.analyze_batch(threads, context), strict=True))
    return pairs


def accuracy(pairs: list[tuple[dict[str, Any], Annotation]], field: str) -> float:
    """Share right among the rows that label `field` (rows in languages the rules do not
    cover label only their language and category)."""
    pairs = [(r, a) for r, a in pairs if field in r["labels"]]

    def folded(names: list[str]) -> set[str]:
        return {n.casefold().removesuffix("s") for n in names}

    def is_right(row: dict[str, Any], a: Annotation) -> bool:
        labels = row["labels"]
        if field == "language":
            return a.languages[:1] == [labels["language"]]
        if field.endswith("_entities"):
            return folded(getattr(a, field)) == folded(labels[field])
        return bool(getattr(a, field) == labels[field])

    return sum(is_right(r, a) for r, a in pairs) / len(pairs)


# --- accuracy floors on the labelled set ---------------------------------------------------


def test_labelled_set_has_enough_realistic_threads_in_six_languages(
    rows: list[dict[str, Any]],
) -> None:
    languages = {r["labels"]["language"] for r in rows}
    assert len(rows) >= 300
    assert {"en", "de", "fr", "es", "ja", "pt", "it", "nl", "pl", "ru", "zh", "ko"} <= languages
    assert {r["labels"].get("question_type") for r in rows} - {None} == {
        "how_to",
        "troubleshooting",
        "conceptual",
        "feature_request",
        "other",
    }


@pytest.mark.parametrize(
    ("field", "floor"),
    [
        pytest.param("language", 0.97, id="languages"),
        pytest.param("sentiment", 0.90, id="sentiment"),
        pytest.param("emotion", 0.89, id="emotion"),
        pytest.param("question_type", 0.88, id="questionType"),
        pytest.param("is_answer_confident", 0.97, id="isAnswerConfident"),
        pytest.param("is_feature_supported", 0.95, id="isFeatureSupported"),
        pytest.param("is_documented", 0.95, id="isDocumented"),
        pytest.param("is_on_topic", 0.97, id="isOnTopic"),
        pytest.param("is_clear", 0.97, id="isClear"),
        pytest.param("first_party_entities", 0.96, id="firstPartyEntities"),
        pytest.param("third_party_entities", 0.96, id="thirdPartyEntities"),
    ],
)
def test_field_accuracy_on_the_labelled_set_stays_above_its_floor(
    annotated: list[tuple[dict[str, Any], Annotation]], field: str, floor: float
) -> None:
    assert accuracy(annotated, field) >= floor


@pytest.mark.parametrize(
    ("field", "minority", "floor"),
    [
        pytest.param("is_answer_confident", False, 0.85, id="unconfident-answers"),
        pytest.param("is_feature_supported", False, 0.85, id="unsupported-features"),
        pytest.param("is_documented", False, 0.85, id="documentation-gaps"),
        pytest.param("is_on_topic", False, 0.9, id="off-topic-questions"),
        pytest.param("is_clear", False, 0.9, id="unclear-questions"),
    ],
)
def test_rare_boolean_values_are_found_not_just_the_majority(
    annotated: list[tuple[dict[str, Any], Annotation]], field: str, minority: bool, floor: float
) -> None:
    labelled = [(r, a) for r, a in annotated if r["labels"].get(field) is minority]
    recall = sum(getattr(a, field) is minority for _, a in labelled) / len(labelled)
    assert recall >= floor


def test_categories_agree_with_the_intended_ones_above_the_floor(
    annotated: list[tuple[dict[str, Any], Annotation]],
) -> None:
    scores = []
    for project in GLOSSARIES:
        pairs = [(r, a) for r, a in annotated if r["project"] == project]
        intended = [r["labels"]["category"] for r, _ in pairs]
        scores.append(adjusted_rand_score(intended, [a.category for _, a in pairs]))
    # The categories are finer than the ~10 intended per product (about 25 come out): the
    # cut is tuned on CLINC150's 150 fine intents. Measured 0.18-0.32, mean 0.27; the
    # wiki's 0.18 has "is there a mobile app?" asked in 19 languages, which MiniLM
    # (English-first) does not gather into one category.
    assert min(scores) >= 0.15
    assert sum(scores) / len(scores) >= 0.23


def test_every_subject_in_the_labelled_set_is_at_most_eight_words(
    annotated: list[tuple[dict[str, Any], Annotation]],
) -> None:
    assert max(len(a.subject.split()) for _, a in annotated) <= 8
    assert all(a.subject for _, a in annotated)


# --- exact rules, field by field -----------------------------------------------------------


def annotate(
    analyzer: OfflineAnalyzer, question: str, answer: str = "", **kwargs: Any
) -> Annotation:
    context = ProjectContext(glossary=tuple(kwargs.pop("glossary", ())))
    return analyzer.analyze_batch([ThreadText(question, answer, **kwargs)], context)[0]


def test_offline_analyzer_is_an_analyzer(analyzer: OfflineAnalyzer) -> None:
    typed: Analyzer = analyzer
    assert (typed.name, typed.version) == ("offline", "1")


def test_annotation_wire_names_are_the_semantic_thread_fields(analyzer: OfflineAnalyzer) -> None:
    wire = annotate(analyzer, "How do I rotate an API key?", "Use Roll key.").to_wire()
    assert list(wire) == [
        "subject",
        "category",
        "questionType",
        "languages",
        "sentiment",
        "emotion",
        "firstPartyEntities",
        "thirdPartyEntities",
        "isOnTopic",
        "isClear",
        "isDocumented",
        "isFeatureSupported",
        "isAnswerConfident",
        "gapSummary",
    ]


def test_languages_list_the_question_language_then_programming_languages(
    analyzer: OfflineAnalyzer,
) -> None:
    a = annotate(
        analyzer,
        "Wie prüfe ich die Signatur eines Webhooks in PHP?",
        "So geht es:\n```python\nverify(payload)\n```",
    )
    assert a.languages == ["de", "python", "php"]


def test_languages_of_a_two_word_thanks_follow_the_answer(analyzer: OfflineAnalyzer) -> None:
    assert annotate(
        analyzer, "Valeu, deu certo!", "Que bom! Qualquer dúvida é só chamar."
    ).languages == ["pt"]


@pytest.mark.parametrize(
    ("question", "language"),
    [
        pytest.param("Bitte antworte auf Deutsch.", "de", id="german"),
        pytest.param("Lo pruebo mañana y te cuento.", "es", id="spanish"),
        pytest.param("Gibt es eine öffentliche API?", "de", id="german-question"),
    ],
)
def test_an_answer_too_short_to_identify_never_overrides_the_question(
    analyzer: OfflineAnalyzer, question: str, language: str
) -> None:
    found = LanguageDetector().detect("OK.")
    assert found is not None and found[0] == "pl" and found[1] > 0.9  # the trap, for real
    assert annotate(analyzer, question, "OK.").languages == [language]


@pytest.mark.parametrize(
    ("question", "answer", "language"),
    [
        pytest.param("Ich melde mich morgen wieder.", "Okay, sure thing!", "de", id="german"),
        pytest.param("Vale, lo intento de nuevo.", "Okay, sure thing.", "es", id="spanish"),
        pytest.param("Je reviens vers vous demain.", "Sure, talk soon!", "fr", id="french"),
    ],
)
def test_a_few_confident_words_of_another_language_do_not_override_the_question(
    analyzer: OfflineAnalyzer, question: str, answer: str, language: str
) -> None:
    found = LanguageDetector().detect(answer)
    assert found is not None and found[0] == "en" and found[1] > 0.9  # confidently English
    assert annotate(analyzer, question, answer).languages == [language]


def test_a_long_enough_answer_still_corrects_a_short_misdetected_question(
    analyzer: OfflineAnalyzer,
) -> None:
    question = "Quanto custa o plano Growth?"
    found = LanguageDetector().detect(question)
    assert found is not None and found[0] == "it"  # fastText's guess for it alone
    answer = "O plano Growth custa 49 dólares por mês."
    assert annotate(analyzer, question, answer).languages == ["pt"]


def test_a_thread_too_short_to_identify_has_no_language(analyzer: OfflineAnalyzer) -> None:
    assert annotate(analyzer, "ok", "OK.").languages == []
    assert annotate(analyzer, "Merci infiniment !", "Avec plaisir !").languages == ["fr"]


def test_short_questions_in_scripts_without_latin_words_are_identified(
    analyzer: OfflineAnalyzer,
) -> None:
    assert annotate(analyzer, "Как посмотреть логи функции?", "OK.").languages == ["ru"]
    assert annotate(analyzer, "도메인은 어떻게 연결하나요?", "OK.").languages == ["ko"]


@pytest.mark.parametrize(
    ("question", "sentiment"),
    [
        pytest.param("The export button doesn't work.", "negative", id="vader-misses-this"),
        pytest.param(
            "My bank feed hasn't pulled any transactions since Monday.",
            "negative",
            id="negated-statement",
        ),
        pytest.param("thanks, that fixed it!", "positive", id="thanks"),
        pytest.param("How do I add a teammate with read-only access?", "neutral", id="how-to"),
        pytest.param(
            "Mon déploiement échoue à chaque fois, c'est vraiment pénible.",
            "negative",
            id="french-complaint",
        ),
        pytest.param("ありがとうございます！解決しました。", "positive", id="japanese-thanks"),
    ],
)
def test_sentiment_combines_vader_with_the_support_lexicon(
    analyzer: OfflineAnalyzer, question: str, sentiment: str
) -> None:
    assert annotate(analyzer, question).sentiment == sentiment


@pytest.mark.parametrize(
    ("question", "emotion"),
    [
        pytest.param(
            "Production is down and customers can't pay, need help ASAP!", "urgent", id="urgent"
        ),
        pytest.param(
            "Broken again. Third time this week, this is useless.", "frustrated", id="frustrated"
        ),
        pytest.param(
            "I don't understand why the invoice total doesn't match??", "confused", id="confused"
        ),
        pytest.param("Perfect, that worked, thank you!", "satisfied", id="satisfied"),
        pytest.param(
            "Would be awesome to have a Terraform provider.",
            "neutral",
            id="polite-request-is-not-satisfaction",
        ),
    ],
)
def test_emotion_comes_from_its_lexicon_gated_by_sentiment(
    analyzer: OfflineAnalyzer, question: str, emotion: str
) -> None:
    assert annotate(analyzer, question).emotion == emotion


@pytest.mark.parametrize(
    ("question", "question_type"),
    [
        pytest.param("How do I redirect www to the apex domain?", "how_to", id="how-to"),
        pytest.param(
            "Build fails with npm ERR! code ERESOLVE", "troubleshooting", id="troubleshooting"
        ),
        pytest.param(
            "What does the 504 FUNCTION_INVOCATION_TIMEOUT error mean?",
            "conceptual",
            id="error-meaning-is-conceptual",
        ),
        pytest.param("Does the API support GraphQL?", "conceptual", id="capability"),
        pytest.param(
            "Please add weekly payouts on a custom weekday.",
            "feature_request",
            id="feature-request",
        ),
        pytest.param("thank you!! this was super helpful", "other", id="thanks"),
        pytest.param("Wie richte ich ein Abo mit 30 Tagen Testphase ein?", "how_to", id="german"),
        pytest.param("PayPayに対応する予定はありますか？", "feature_request", id="japanese"),
        pytest.param(
            "HubSpot deals aren't syncing anymore", "troubleshooting", id="negated-statement"
        ),
    ],
)
def test_question_type_rules(analyzer: OfflineAnalyzer, question: str, question_type: str) -> None:
    assert annotate(analyzer, question).question_type == question_type


def test_question_type_is_other_when_the_answer_declines_the_request(
    analyzer: OfflineAnalyzer,
) -> None:
    a = annotate(
        analyzer,
        "How do I write a Kubernetes operator in Go?",
        "That's outside what I can help with here: I answer questions about Nimbus.",
    )
    assert (a.question_type, a.is_on_topic) == ("other", False)


def test_third_party_names_are_found_under_their_canonical_spelling(
    analyzer: OfflineAnalyzer,
) -> None:
    a = annotate(analyzer, "Deploying to k8s with SSO from Entra ID and a Go SDK client in Node?")
    assert a.third_party_entities == ["Kubernetes", "Azure AD", "Go", "Node.js"]


def test_names_that_are_also_common_words_need_their_capital(analyzer: OfflineAnalyzer) -> None:
    a = annotate(analyzer, "go to settings and slack off, the notion of a word export")
    assert a.third_party_entities == []


def test_names_are_found_inside_japanese_text_but_not_inside_longer_words(
    analyzer: OfflineAnalyzer,
) -> None:
    assert annotate(analyzer, "Node.jsでWebhookを検証").third_party_entities == ["Node.js"]
    assert annotate(analyzer, "Wie lange dauert eine Rückerstattung?").third_party_entities == []


def test_first_party_terms_win_over_an_overlapping_third_party_name(
    analyzer: OfflineAnalyzer,
) -> None:
    a = annotate(
        analyzer,
        "How do I back up Nimbus Postgres with pg_dump?",
        glossary=["Nimbus", "Nimbus Postgres"],
    )
    assert (a.first_party_entities, a.third_party_entities) == (["Nimbus Postgres"], ["pg_dump"])


def test_glossary_terms_are_learned_from_cited_link_titles() -> None:
    titles = [
        "Verifying webhook signatures | Acorn Pay Docs",
        "Payment Links | Acorn Pay Docs",
        "Shield rules | Acorn Pay Docs",
        "Shield lists | Acorn Pay Docs",
        "Python SDK | Acorn Pay Docs",
        "Refunds | Acorn Pay Docs",
        "Refunds and disputes | Acorn Pay Docs",
    ]
    answers = [
        "Create one under Payment Links in the dashboard.",
        "Add the card to a list in Shield so it is allowed. Refunds are sent at once.",
        "Partial refunds are possible.",
    ]
    learned = learn_glossary(titles, answers, ThirdPartyGazetteer())
    # "Refunds" starts two titles but the answers write it in lower case: not a name.
    assert learned == ("Acorn Pay", "Payment Links", "Shield")


def test_learned_single_words_are_names_only_when_capitalised(analyzer: OfflineAnalyzer) -> None:
    answer = "Open Shield and add the rule. Shield scores every payment."
    links = {"link_titles": ["Shield rules | Acorn Pay Docs", "Shield lists | Acorn Pay Docs"]}
    assert annotate(
        analyzer, "Why did Shield block this?", answer, **links
    ).first_party_entities == ["Shield"]
    assert annotate(analyzer, "my shield is broken", answer, **links).first_party_entities == []


def test_hedging_answer_is_not_confident_and_is_a_documentation_gap(
    analyzer: OfflineAnalyzer,
) -> None:
    a = annotate(
        analyzer,
        "Can customers pause their subscription in the portal?",
        "I believe pausing might be possible through the API, but I'm not sure. "
        "I couldn't find it in the documentation.",
    )
    assert (a.is_answer_confident, a.is_documented) == (False, False)
    assert a.gap_summary == (
        "No documentation found: Can customers pause their subscription in the portal"
    )


def test_declining_for_lack_of_account_access_is_not_a_documentation_gap(
    analyzer: OfflineAnalyzer,
) -> None:
    a = annotate(
        analyzer,
        "Why was my account suspended?",
        "I don't have access to account review details, so I can't tell why. "
        "Please contact support.",
    )
    assert (a.is_answer_confident, a.is_documented, a.gap_summary) == (False, True, None)


def test_unsourced_answer_with_negative_feedback_is_a_documentation_gap(
    analyzer: OfflineAnalyzer,
) -> None:
    question = "Does the export include archived pages?"
    answer = "Yes, archived pages are included in every export."
    disliked = annotate(analyzer, question, answer, has_negative_feedback=True)
    cited = annotate(
        analyzer,
        question,
        answer,
        has_negative_feedback=True,
        link_urls=["https://help.example.com/export"],
    )
    assert (disliked.is_documented, disliked.gap_summary) == (
        False,
        "Unsourced answer marked unhelpful: Export include archived pages",
    )
    assert (cited.is_documented, cited.is_answer_confident) == (True, True)


def test_answer_saying_a_capability_does_not_exist_marks_the_feature_unsupported(
    analyzer: OfflineAnalyzer,
) -> None:
    a = annotate(
        analyzer,
        "Can I deploy a Docker container?",
        "Nimbus doesn't run arbitrary Docker containers.",
    )
    assert (a.is_feature_supported, a.is_documented, a.is_answer_confident) == (False, True, True)


def test_answer_starting_with_yes_keeps_the_feature_supported_despite_a_limit(
    analyzer: OfflineAnalyzer,
) -> None:
    a = annotate(
        analyzer,
        "Can I customize the colors of checkout?",
        "Yes, under Settings → Branding. Fully custom CSS is not supported.",
    )
    assert a.is_feature_supported is True


def test_turned_down_feature_request_is_unsupported_and_a_gap(analyzer: OfflineAnalyzer) -> None:
    a = annotate(
        analyzer,
        "Please add an export to Word.",
        "Export to .docx isn't available today. I'll pass on the request.",
    )
    assert (a.question_type, a.is_feature_supported, a.is_documented) == (
        "feature_request",
        False,
        False,
    )
    assert a.gap_summary == "Feature requested, not available: Add an export to Word"


def test_feature_request_for_something_that_exists_is_supported(analyzer: OfflineAnalyzer) -> None:
    a = annotate(
        analyzer,
        "It would be nice to have a read-only role that can see logs",
        "The Viewer role already works like that.",
    )
    assert (a.question_type, a.is_feature_supported, a.is_documented) == (
        "feature_request",
        True,
        True,
    )


@pytest.mark.parametrize(
    ("question", "answer", "is_clear"),
    [
        pytest.param(
            "it doesn't work",
            "Could you share more details?",
            False,
            id="assistant-asks-for-details",
        ),
        pytest.param("hello?", "Hi! Ask me anything about Nimbus.", False, id="greeting-only"),
        pytest.param("error", "Which API call produced it?", False, id="no-content-word"),
        pytest.param("thanks, that fixed it!", "Glad to hear it!", True, id="thanks"),
        pytest.param("How do I rotate an API key?", "Use Roll key.", True, id="plain-question"),
    ],
)
def test_question_clarity(
    analyzer: OfflineAnalyzer, question: str, answer: str, is_clear: bool
) -> None:
    assert annotate(analyzer, question, answer).is_clear is is_clear


def test_off_topic_words_do_not_count_when_the_product_is_named(analyzer: OfflineAnalyzer) -> None:
    named = annotate(
        analyzer,
        "Can Quill AI write a poem for our newsletter?",
        "Yes, Quill AI can draft it in a page.",
        glossary=["Quill AI"],
    )
    unnamed = annotate(analyzer, "Can you write me a poem about autumn?", "Here is one.")
    assert (named.is_on_topic, unnamed.is_on_topic) == (True, False)


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        pytest.param(
            "How do I verify webhook signatures in Node.js?",
            "Verify webhook signatures in Node.js",
            id="how-do-i",
        ),
        pytest.param(
            "Is there a way to test webhooks locally without deploying?",
            "Test webhooks locally without deploying",
            id="is-there-a-way",
        ),
        pytest.param(
            "Wie kann ich die Signatur eines Webhooks in PHP prüfen?",
            "Signatur eines Webhooks in PHP prüfen",
            id="german",
        ),
        pytest.param(
            "Our webhooks stopped arriving at 2am and customers are being charged "
            "without orders being created.",
            "Webhooks stopped arriving 2am customers charged orders created",
            id="long-keeps-content-words",
        ),
        pytest.param(
            "独自ドメインを設定するにはどうすればいいですか？",
            "独自ドメインを設定する",
            id="japanese",
        ),
    ],
)
def test_subject_drops_the_question_formula(question: str, subject: str) -> None:
    assert summarize_question(question) == subject


def test_url_path_words_skip_locales_and_docs_segments() -> None:
    urls = [
        "https://docs.acornpay.dev/de/webhooks/signatures",
        "https://x.dev/docs/v2/api-keys#roll",
    ]
    assert url_path_words(urls) == ["webhooks", "signatures", "api", "keys"]


# --- categories ----------------------------------------------------------------------------


def blobs(centres: int, per_centre: int, seed: int) -> npt.NDArray[np.float32]:
    """Unit vectors around well-separated random centres."""
    rng = np.random.default_rng(seed)
    centre_vectors = rng.normal(size=(centres, 384))
    points = np.repeat(centre_vectors, per_centre, axis=0) + 0.35 * rng.normal(
        size=(centres * per_centre, 384)
    )
    unit: npt.NDArray[np.float32] = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(
        np.float32
    )
    return unit


def blob_terms(centres: int, per_centre: int) -> list[list[str]]:
    return [[f"topic{c}", f"word{c}", "common"] for c in range(centres) for _ in range(per_centre)]


def test_new_questions_join_the_nearest_category_and_move_no_other() -> None:
    vectors = blobs(6, 40, seed=1)
    model, labels = fit_categories(blob_terms(6, 40), vectors, embedder="test")
    newcomers = blobs(6, 40, seed=1)[::7] + 0.01
    before = assign_categories(model, vectors)
    after_new = assign_categories(
        model, newcomers / np.linalg.norm(newcomers, axis=1, keepdims=True)
    )
    assert np.array_equal(before, labels)
    assert np.array_equal(assign_categories(model, vectors), before)
    assert np.array_equal(after_new, labels[::7])


def test_full_recluster_keeps_ids_and_names_of_matching_categories() -> None:
    vectors = blobs(6, 40, seed=2)
    old, _ = fit_categories(blob_terms(6, 40), vectors, embedder="test", seed=0)
    more = np.vstack([vectors, blobs(6, 10, seed=2)])
    new, _ = fit_categories(
        blob_terms(6, 40) + blob_terms(6, 10), more, embedder="test", previous=old, seed=7
    )
    assert sorted(zip(new.ids, new.names, strict=True)) == sorted(
        zip(old.ids, old.names, strict=True)
    )
    assert new.next_id == old.next_id


def test_recluster_with_a_new_topic_adds_a_category_with_a_fresh_id() -> None:
    vectors = blobs(4, 40, seed=3)
    old, _ = fit_categories(blob_terms(4, 40), vectors, embedder="test")
    extra = blobs(5, 40, seed=3)[160:]
    new, _ = fit_categories(
        blob_terms(4, 40) + [["newtopic", "fresh"]] * 40,
        np.vstack([vectors, extra]),
        embedder="test",
        previous=old,
    )
    assert set(old.ids) < set(new.ids)
    assert set(new.ids) - set(old.ids) == {"c5"}
    assert new.names[new.ids.index("c5")] == "fresh, newtopic"


def test_categories_are_named_by_their_distinctive_terms() -> None:
    docs = [
        ["webhook", "signature", "node"],
        ["webhook", "retry"],
        ["refund", "partial"],
        ["refund", "card"],
        ["webhook", "refund"],
    ]
    labels = np.array([0, 0, 1, 1, 1])
    assert ctfidf_terms(docs, labels, 2, top=2) == [["webhook", "node"], ["refund", "card"]]


@pytest.mark.parametrize("topics", [3, 17, 60])
def test_the_number_of_categories_follows_the_data(topics: int) -> None:
    labels = fit_categories(blob_terms(topics, 12), blobs(topics, 12, seed=4), embedder="test")[1]
    assert len(set(labels.tolist())) == topics
    assert np.array_equal(labels, np.repeat(np.arange(topics), 12))


def test_a_lone_question_joins_its_nearest_category() -> None:
    vectors = blobs(3, 20, seed=6)
    loner = vectors[0] + 0.9 * _unit(np.random.default_rng(6).normal(size=384))
    labels = cluster_vectors(np.vstack([vectors, _unit(loner)[None, :]]))
    assert labels[-1] == labels[0] and len(set(labels.tolist())) == 3


def test_above_the_sample_size_the_rest_join_the_sample_centroids() -> None:
    vectors = blobs(5, 200, seed=8)
    labels = cluster_vectors(vectors, sample=100, seed=3)
    assert np.array_equal(labels, np.repeat(np.arange(5), 200))


def _unit(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    unit: npt.NDArray[np.float32] = (v / np.linalg.norm(v)).astype(np.float32)
    return unit


def test_category_model_survives_a_json_round_trip() -> None:
    model, _ = fit_categories(blob_terms(3, 20), blobs(3, 20, seed=5), embedder="test")
    again = CategoryModel.from_json_dict(json.loads(json.dumps(model.to_json_dict())))
    assert (again.ids, again.names, again.sizes, again.next_id) == (
        model.ids,
        model.names,
        model.sizes,
        model.next_id,
    )
    assert (again.groups, again.group_names) == (model.groups, model.group_names)
    assert len(model.groups) == len(model.ids) and model.group_names
    assert np.allclose(again.centroids, model.centroids, atol=1e-6)


def test_a_model_saved_before_groups_existed_still_loads() -> None:
    model, _ = fit_categories(blob_terms(3, 20), blobs(3, 20, seed=5), embedder="test")
    saved = model.to_json_dict()
    del saved["groups"], saved["groupNames"]
    again = CategoryModel.from_json_dict(saved)
    assert again.names == model.names and again.group_name(0) is None


def test_groups_are_coarser_than_categories_and_nearer_the_intended_topics(
    analyzer: OfflineAnalyzer, rows: list[dict[str, Any]]
) -> None:
    mine = [r for r in rows if r["project"] == "nimbus"]
    threads = [thread_of(r) for r in mine]
    context = analyzer.fit_context(threads, ProjectContext(glossary=GLOSSARIES["nimbus"]))
    model = context.categories
    assert model is not None
    categories = [a.category or "" for a in analyzer.analyze_batch(threads, context)]
    groups = [model.group_name(model.names.index(c)) for c in categories]
    intended = [r["labels"]["category"] for r in mine]
    assert len(set(groups)) < len(set(categories))
    # Measured 0.42 for the groups (15), 0.30 for the categories (27), 10 intended topics.
    assert adjusted_rand_score(intended, groups) >= 0.36
    assert adjusted_rand_score(intended, groups) > adjusted_rand_score(intended, categories)


def test_analyzer_categories_stay_stable_when_a_project_grows(
    analyzer: OfflineAnalyzer, rows: list[dict[str, Any]]
) -> None:
    threads = [thread_of(r) for r in rows if r["project"] == "nimbus"]
    first = analyzer.fit_context(threads[:80], ProjectContext(glossary=GLOSSARIES["nimbus"]))
    before = [a.category for a in analyzer.analyze_batch(threads[:80], first)]
    later = [a.category for a in analyzer.analyze_batch(threads, first)]
    refit = analyzer.fit_context(threads, first)
    assert later[:80] == before
    assert first.categories is not None and refit.categories is not None
    kept = set(first.categories.names) & set(refit.categories.names)
    assert len(kept) >= len(first.categories.names) // 2


# --- the model and the network ---------------------------------------------------------------


def numpy_minilm(texts: list[str]) -> npt.NDArray[np.float32]:
    """Reference forward pass of BERT + mean pooling in plain numpy, one text at a time."""
    from scipy.special import erf  # type: ignore[import-untyped]
    from tokenizers import Tokenizer

    w = load_weights(model_dir() / "model.safetensors")
    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_padding()

    def norm(x: npt.NDArray[np.float32], name: str) -> npt.NDArray[np.float32]:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        normed: npt.NDArray[np.float32] = (x - mean) / np.sqrt(var + 1e-12)
        return normed * w[f"{name}.weight"] + w[f"{name}.bias"]

    out = []
    for text in texts:
        ids = tokenizer.encode(text).ids
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: len(ids)]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = norm(x, "embeddings.LayerNorm")
        for i in range(6):
            p = f"encoder.layer.{i}."

            def dense(h: npt.NDArray[np.float32], name: str, p: str = p) -> npt.NDArray[np.float32]:
                return h @ w[f"{p}{name}.weight"].T + w[f"{p}{name}.bias"]

            q, k, v = (
                dense(x, f"attention.self.{n}").reshape(-1, 12, 32).transpose(1, 0, 2)
                for n in ("query", "key", "value")
            )
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(32)
            probs = np.exp(scores - scores.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            context = (probs @ v).transpose(1, 0, 2).reshape(-1, 384)
            x = norm(dense(context, "attention.output.dense") + x, f"{p}attention.output.LayerNorm")
            h = dense(x, "intermediate.dense")
            h = 0.5 * h * (1 + erf(h / np.sqrt(2)))
            x = norm(dense(h, "output.dense") + x, f"{p}output.LayerNorm")
        mean = x.mean(0)
        out.append(mean / np.linalg.norm(mean))
    return np.stack(out).astype(np.float32)


def test_onnx_graph_gives_the_same_vectors_as_a_plain_numpy_forward_pass(
    analyzer: OfflineAnalyzer,
) -> None:
    texts = ["How do I rotate an API key?", "Webhook署名の検証", "ok", "Wie richte ich SSO ein?"]
    cosine = (analyzer.embed(texts) * numpy_minilm(texts)).sum(axis=1)
    assert cosine.min() > 0.9999


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the offline analyzer tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield


@pytest.mark.usefixtures("no_network")
def test_analyzer_loads_and_annotates_with_the_network_refused() -> None:
    fresh = OfflineAnalyzer()
    a = fresh.analyze_batch(
        [ThreadText("Wie richte ich SSO ein?", "Unter Einstellungen.")], ProjectContext()
    )[0]
    assert a.languages == ["de"]


def test_encoder_refuses_weights_that_are_not_the_expected_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("convoscope.annotate.analyzers.embeddings.WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="not the expected all-MiniLM-L6-v2 weights"):
        SentenceEncoder()
