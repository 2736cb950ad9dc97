"""The LLM analyzer's guarantees: a thread gets LLM values only from a valid reply item,
every other thread keeps exactly its offline annotation and says so in its provenance, and
no server behaviour (malformed or invalid JSON, refused response formats, 429, 5xx, slowness,
a closed port) makes a batch slower than the configured bounds or sends more requests than
the retry rules allow.

The server is `llm_stub.StubLLMServer`, a real HTTP server on loopback; the fallback is the
real offline analyzer.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from itertools import pairwise
from typing import Any

import pytest

from convoscope.annotate import (
    Analyzer,
    Annotation,
    CategoryModel,
    LLMAnalyzer,
    OfflineAnalyzer,
    ProjectContext,
    ThreadText,
)
from convoscope.annotate.analyzers.llm import LLMSettings
from convoscope.annotate.analyzers.llm_client import MAX_ATTEMPTS
from convoscope.annotate.analyzers.llm_prompt import JSON_ONLY
from convoscope.annotate.analyzers.llm_schema import parse_reply
from tests.annotate.llm_stub import Recorded, Reply, StubLLMServer, answer, good_item

API_KEY = "sk-test-0123456789abcdef"
LLM = "llm:stub-model:p1"
OFFLINE = "offline:" + OfflineAnalyzer.version

THREADS = [
    ThreadText(
        question="How do I rotate my Acorn Pay API key?",
        answer="Open Settings > API keys and click Rotate. The old key stops working at once.",
        link_titles=["API keys | Acorn Pay Docs"],
    ),
    ThreadText(
        question="My webhook endpoint keeps getting 401 signature errors, why?",
        answer="Check that you verify the signature with the endpoint's signing secret.",
    ),
    ThreadText(
        question="Can I export all invoices as a CSV file?",
        answer="Yes: Billing > Invoices > Export downloads a CSV of the filtered invoices.",
    ),
    ThreadText(
        question="Wie ändere ich die Währung meines Kontos?",
        answer="Die Währung lässt sich unter Einstellungen > Konto ändern.",
    ),
]
CONTEXT = ProjectContext(glossary=("Acorn Pay", "Acorn CLI"))


@pytest.fixture(scope="module")
def offline() -> OfflineAnalyzer:
    return OfflineAnalyzer()


@pytest.fixture(scope="module")
def server_instance() -> Iterator[StubLLMServer]:
    with StubLLMServer() as server:
        yield server


@pytest.fixture
def server(server_instance: StubLLMServer) -> StubLLMServer:
    server_instance.reset()
    return server_instance


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours proxy variables; loopback traffic must not be sent to a proxy."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)


def make_settings(base_url: str, **overrides: Any) -> LLMSettings:
    values: dict[str, Any] = {
        "base_url": base_url,
        "api_key": API_KEY,
        "model": "stub-model",
        "timeout_seconds": 5.0,
        "max_concurrency": 4,
        "requests_per_minute": 100_000,
        "threads_per_request": 8,
    }
    values.update(overrides)
    return LLMSettings(**values)


def make_analyzer(offline: OfflineAnalyzer, server: StubLLMServer, **overrides: Any) -> LLMAnalyzer:
    return LLMAnalyzer(offline, make_settings(server.base_url, **overrides))


def sources(pairs: list[tuple[Annotation, str]]) -> list[str]:
    return [source for _, source in pairs]


def questions(request: Recorded) -> list[str]:
    return [thread["question"] for thread in request.threads]


def llm_subject(thread: ThreadText) -> str:
    return "LLM " + " ".join(thread.question.split()[:3])


# --- the good path --------------------------------------------------------------------


def test_valid_reply_gives_every_thread_llm_values_in_one_request(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    pairs = make_analyzer(offline, server).analyze_sourced(THREADS, CONTEXT)

    assert sources(pairs) == [LLM] * 4
    assert [a.subject for a, _ in pairs] == [llm_subject(t) for t in THREADS]
    assert len(server.requests) == 1
    request = server.requests[0]
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "stub-model"
    assert request.body["temperature"] == 0
    assert request.body["response_format"]["type"] == "json_schema"
    assert request.body["response_format"]["json_schema"]["name"] == "semantic_threads"
    assert request.body["response_format"]["json_schema"]["strict"] is True
    assert questions(request) == [t.question for t in THREADS]
    assert request.threads[0]["citedPages"] == ["API keys | Acorn Pay Docs"]


def test_reply_values_become_the_annotation(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    def respond(request: Recorded) -> Reply:
        (thread,) = request.threads
        return answer(
            [
                good_item(
                    thread,
                    subject="  Währung   des Kontos ändern ",
                    questionType="troubleshooting",
                    languages=["DE", "en"],
                    programmingLanguages=["Python"],
                    sentiment="negative",
                    emotion="frustrated",
                    firstPartyEntities=["acorn pay", "Konto", "ACORN PAY"],
                    thirdPartyEntities=["Stripe"],
                    isOnTopic=True,
                    isClear=False,
                    isDocumented=False,
                    isFeatureSupported=False,
                    isAnswerConfident=False,
                    gapSummary="How to change the account currency",
                    unknownExtraKey="dropped",
                )
            ]
        )

    server.reset(respond)
    [(annotation, source)] = make_analyzer(offline, server).analyze_sourced(THREADS[3:], CONTEXT)

    assert source == LLM
    assert annotation == Annotation(
        subject="Währung des Kontos ändern",
        category=None,
        question_type="troubleshooting",
        languages=["de", "en", "python"],
        sentiment="negative",
        emotion="frustrated",
        first_party_entities=["Acorn Pay", "Konto"],
        third_party_entities=["Stripe"],
        is_on_topic=True,
        is_clear=False,
        is_documented=False,
        is_feature_supported=False,
        is_answer_confident=False,
        gap_summary="How to change the account currency",
    )


def test_threads_are_sent_threads_per_request_at_a_time(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    threads = [*THREADS, replace(THREADS[0], question="How do I install the Acorn CLI?")]
    pairs = make_analyzer(offline, server, threads_per_request=2).analyze_sourced(threads, CONTEXT)

    assert sources(pairs) == [LLM] * 5
    sent = sorted(questions(r) for r in server.requests)
    assert sent == sorted(
        [[threads[0].question, threads[1].question], [threads[2].question, threads[3].question]]
        + [[threads[4].question]]
    )
    # Each request numbers its threads from 0.
    assert all(
        [t["index"] for t in r.threads] == list(range(len(r.threads))) for r in server.requests
    )


def test_analyze_batch_returns_the_annotations_alone(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    analyzer: Analyzer = make_analyzer(offline, server)
    annotations = analyzer.analyze_batch(THREADS[:2], CONTEXT)

    assert [a.subject for a in annotations] == [llm_subject(t) for t in THREADS[:2]]
    assert (analyzer.name, analyzer.version) == ("llm", "stub-model:p1")


def test_an_empty_batch_sends_nothing(offline: OfflineAnalyzer, server: StubLLMServer) -> None:
    assert make_analyzer(offline, server).analyze_sourced([], CONTEXT) == []
    assert server.requests == []


async def test_works_when_called_from_inside_an_event_loop(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    pairs = make_analyzer(offline, server).analyze_sourced(THREADS[:1], CONTEXT)

    assert sources(pairs) == [LLM]


# --- invalid output -------------------------------------------------------------------


def test_malformed_json_is_asked_once_more_then_threads_keep_offline_values(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    server.reset(lambda request: Reply(content='{"threads": [{"index": 0, "subject": '))
    pairs = make_analyzer(offline, server).analyze_sourced(THREADS, CONTEXT)

    assert pairs == [(a, OFFLINE) for a in offline.analyze_batch(THREADS, CONTEXT)]
    assert len(server.requests) == 2


def test_a_200_that_is_not_a_chat_completion_is_treated_as_invalid_output(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    server.reset(lambda request: Reply(body={"choices": []}))
    pairs = make_analyzer(offline, server).analyze_sourced(THREADS[:2], CONTEXT)

    assert sources(pairs) == [OFFLINE] * 2
    assert len(server.requests) == 2


def test_a_malformed_reply_followed_by_a_valid_one_gives_llm_values(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    def respond(request: Recorded) -> Reply:
        if len(server.requests) == 1:
            return Reply(content="Sure! Here are the annotations you asked for.")
        return answer([good_item(t) for t in request.threads])

    server.reset(respond)
    pairs = make_analyzer(offline, server).analyze_sourced(THREADS, CONTEXT)

    assert sources(pairs) == [LLM] * 4
    assert len(server.requests) == 2


def test_an_invalid_enum_value_costs_only_that_thread(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    def respond(request: Recorded) -> Reply:
        return answer(
            [
                good_item(t, sentiment="angry") if "webhook" in t["question"] else good_item(t)
                for t in request.threads
            ]
        )

    server.reset(respond)
    pairs = make_analyzer(offline, server).analyze_sourced(THREADS, CONTEXT)

    assert sources(pairs) == [LLM, OFFLINE, LLM, LLM]
    assert pairs[1][0] == offline.analyze_batch(THREADS, CONTEXT)[1]
    # The retry asks about the invalid thread alone.
    assert [questions(r) for r in server.requests] == [
        [t.question for t in THREADS],
        [THREADS[1].question],
    ]


def test_a_thread_missing_from_the_reply_is_asked_about_again(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    def respond(request: Recorded) -> Reply:
        items = [good_item(t) for t in request.threads]
        return answer(items[:2] + items[3:] if len(server.requests) == 1 else items)

    server.reset(respond)
    pairs = make_analyzer(offline, server).analyze_sourced(THREADS, CONTEXT)

    assert sources(pairs) == [LLM] * 4
    assert [questions(r) for r in server.requests][1] == [THREADS[2].question]


def _item(**overrides: Any) -> dict[str, Any]:
    return good_item({"index": 0, "question": "How do I rotate keys?"}, **overrides)


@pytest.mark.parametrize(
    "item",
    [
        pytest.param(_item(sentiment="angry"), id="sentiment-outside-enum"),
        pytest.param(_item(emotion="Neutral"), id="emotion-wrong-case"),
        pytest.param(_item(questionType="how-to"), id="question-type-misspelt"),
        pytest.param(_item(isClear="true"), id="boolean-as-string"),
        pytest.param(_item(isOnTopic=1), id="boolean-as-number"),
        pytest.param(_item(languages=["english"]), id="language-not-iso-639-1"),
        pytest.param(_item(languages=["xx"]), id="language-unknown-code"),
        pytest.param(_item(languages=[]), id="no-language"),
        pytest.param(_item(programmingLanguages=["C++ (17)"]), id="programming-language-junk"),
        pytest.param(
            _item(subject="one two three four five six seven eight nine"), id="subject-9-words"
        ),
        pytest.param(_item(subject="   "), id="subject-blank"),
        pytest.param(_item(firstPartyEntities="Acorn Pay"), id="entities-not-a-list"),
        pytest.param(_item(gapSummary=None, isDocumented=None), id="boolean-null"),
        pytest.param(_item(index=1), id="index-out-of-range"),
        pytest.param(_item(index=True), id="index-boolean"),
        pytest.param({k: v for k, v in _item().items() if k != "emotion"}, id="field-missing"),
        pytest.param("not an object", id="item-not-an-object"),
    ],
)
def test_reply_items_that_break_the_schema_are_rejected(item: Any) -> None:
    valid, problems = parse_reply(json.dumps({"threads": [item]}), 1)

    assert valid == {}
    assert len(problems) == 1


def test_replies_are_read_from_the_first_json_value_in_the_text() -> None:
    item = _item()
    fenced = f"Here you go:\n```json\n{json.dumps({'threads': [item]})}\n```\nAnything else?"

    assert list(parse_reply(fenced, 1)[0]) == [0]
    assert list(parse_reply(json.dumps([item]), 1)[0]) == [0]
    # A lone object for a one-thread request is that thread's item.
    assert list(parse_reply(json.dumps({k: v for k, v in item.items() if k != "index"}), 1)[0]) == [
        0
    ]
    assert parse_reply("no json here", 1) == ({}, ["the reply contains no JSON object"])


# --- the response_format ladder -------------------------------------------------------

_FORMAT_ERROR = {"error": {"message": "response_format type json_schema is not supported"}}


def test_a_400_for_json_schema_steps_down_to_json_object_for_good(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    def respond(request: Recorded) -> Reply:
        if request.format_type == "json_schema":
            return Reply(status=400, body=_FORMAT_ERROR)
        return answer([good_item(t) for t in request.threads])

    server.reset(respond)
    analyzer = make_analyzer(offline, server)
    first = analyzer.analyze_sourced(THREADS, CONTEXT)
    second = analyzer.analyze_sourced(THREADS[:2], CONTEXT)

    assert sources(first) == [LLM] * 4
    assert sources(second) == [LLM] * 2
    assert [r.format_type for r in server.requests] == ["json_schema", "json_object", "json_object"]


def test_a_server_refusing_every_response_format_is_asked_for_json_only(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    def respond(request: Recorded) -> Reply:
        if request.format_type is not None:
            return Reply(status=400, body={"error": {"message": "Unknown field: response_format"}})
        items = json.dumps({"threads": [good_item(t) for t in request.threads]})
        return Reply(content=f"Here are the annotations:\n```json\n{items}\n```")

    server.reset(respond)
    pairs = make_analyzer(offline, server).analyze_sourced(THREADS, CONTEXT)

    assert sources(pairs) == [LLM] * 4
    assert [r.format_type for r in server.requests] == ["json_schema", "json_object", None]
    assert JSON_ONLY not in server.requests[0].system
    assert JSON_ONLY in server.requests[2].system


def test_a_400_about_something_else_falls_back_without_stepping_down(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    server.reset(
        lambda request: Reply(status=400, body={"error": {"message": "context length exceeded"}})
    )
    analyzer = make_analyzer(offline, server)
    pairs = analyzer.analyze_sourced(THREADS, CONTEXT)
    server.reset()
    analyzer.analyze_sourced(THREADS[:1], CONTEXT)

    assert sources(pairs) == [OFFLINE] * 4
    assert [r.format_type for r in server.requests] == ["json_schema"]


# --- rate limits, server errors, timeouts ---------------------------------------------


def test_a_429_is_retried_after_the_time_retry_after_asks_for(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    def respond(request: Recorded) -> Reply:
        if len(server.requests) == 1:
            return Reply(status=429, body={"error": "slow down"}, headers={"Retry-After": "1"})
        return answer([good_item(t) for t in request.threads])

    server.reset(respond)
    pairs = make_analyzer(offline, server).analyze_sourced(THREADS, CONTEXT)

    assert sources(pairs) == [LLM] * 4
    first, second = server.requests
    assert 1.0 <= second.arrived - first.arrived < 1.5


def test_a_retry_after_beyond_the_wait_budget_falls_back_at_once(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    server.reset(lambda request: Reply(status=429, body={}, headers={"Retry-After": "3600"}))
    started = time.monotonic()
    pairs = make_analyzer(offline, server).analyze_sourced(THREADS, CONTEXT)

    assert time.monotonic() - started < 1.0
    assert sources(pairs) == [OFFLINE] * 4
    assert len(server.requests) == 1


def test_server_errors_are_retried_with_backoff_a_bounded_number_of_times(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    server.reset(lambda request: Reply(status=503, body={"error": "overloaded"}))
    pairs = make_analyzer(offline, server).analyze_sourced(THREADS, CONTEXT)

    assert sources(pairs) == [OFFLINE] * 4
    assert len(server.requests) == MAX_ATTEMPTS == 3
    gaps = [b.arrived - a.arrived for a, b in pairwise(server.requests)]
    # Backoff doubles from 0.5 s; the slack is the request's own round trip.
    assert 0.5 <= gaps[0] < 0.7
    assert 1.0 <= gaps[1] < 1.2


def test_a_slow_server_costs_one_timeout_and_no_more(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    offline.analyze_batch(THREADS, CONTEXT)  # warm, so the timing below is the LLM's
    server.reset(lambda request: Reply(content="{}", delay=5.0))
    analyzer = make_analyzer(
        offline, server, timeout_seconds=0.5, threads_per_request=1, max_concurrency=2
    )
    started = time.monotonic()
    pairs = analyzer.analyze_sourced(THREADS, CONTEXT)
    elapsed = time.monotonic() - started

    assert sources(pairs) == [OFFLINE] * 4
    assert 0.5 <= elapsed < 0.9
    # Two requests timed out together; the other two threads were not sent after that.
    assert len(server.requests) == 2


def test_an_unreachable_server_falls_back_at_once(offline: OfflineAnalyzer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    analyzer = LLMAnalyzer(offline, make_settings(f"http://127.0.0.1:{port}/v1"))
    started = time.monotonic()
    pairs = analyzer.analyze_sourced(THREADS, CONTEXT)

    assert time.monotonic() - started < 1.0
    assert sources(pairs) == [OFFLINE] * 4


def test_requests_in_flight_never_exceed_max_concurrency(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    server.reset(lambda request: answer([good_item(t) for t in request.threads], delay=0.2))
    threads = THREADS + THREADS[:2]
    analyzer = make_analyzer(offline, server, threads_per_request=1, max_concurrency=2)
    pairs = analyzer.analyze_sourced(threads, CONTEXT)

    assert sources(pairs) == [LLM] * 6
    assert len(server.requests) == 6
    assert server.max_in_flight == 2


def test_requests_per_minute_spaces_request_starts(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    analyzer = make_analyzer(offline, server, threads_per_request=1, requests_per_minute=600)
    started = time.monotonic()
    pairs = analyzer.analyze_sourced(THREADS, CONTEXT)

    assert sources(pairs) == [LLM] * 4
    # 600 a minute is one start every 0.1 s: the k-th request cannot arrive before k * 0.1 s.
    # (Gaps between arrivals are not compared: scheduling noise can shrink one of them.)
    arrivals = sorted(r.arrived - started for r in server.requests)
    assert all(arrival >= k * 0.1 for k, arrival in enumerate(arrivals))


# --- what the prompt carries and what the LLM may choose ------------------------------


def test_the_llm_may_only_pick_an_existing_category(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    model = CategoryModel(
        ids=("c1", "c2"),
        names=("Billing", "Webhooks"),
        centroids=offline.embed(["billing invoices export currency", "webhook signature keys"]),
        sizes=(1, 1),
        embedder=offline.embedder,
        next_id=3,
    )
    context = replace(CONTEXT, categories=model)

    def respond(request: Recorded) -> Reply:
        first, second, *rest = request.threads
        return answer(
            [good_item(first, category="Webhooks"), good_item(second, category="Shipping")]
            + [good_item(t, category=None) for t in rest]
        )

    server.reset(respond)
    pairs = make_analyzer(offline, server).analyze_sourced(THREADS, context)
    expected = offline.analyze_batch(THREADS, context)

    assert sources(pairs) == [LLM] * 4
    assert [a.category for a, _ in pairs] == ["Webhooks", *(a.category for a in expected[1:])]
    schema = server.requests[0].body["response_format"]["json_schema"]["schema"]
    category = schema["properties"]["threads"]["items"]["properties"]["category"]
    assert category["enum"] == ["Billing", "Webhooks", None]
    assert '"Billing", "Webhooks"' in server.requests[0].system


def test_first_party_names_reach_the_prompt(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    make_analyzer(offline, server).analyze_sourced(THREADS[:1], CONTEXT)

    assert '"Acorn Pay", "Acorn CLI"' in server.requests[0].system
    schema = server.requests[0].body["response_format"]["json_schema"]["schema"]
    assert "category" not in schema["properties"]["threads"]["items"]["properties"]


def test_each_message_is_truncated_to_max_chars_per_message(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    thread = ThreadText(question="Why? " + "x" * 5000, answer="Because. " + "y" * 5000)
    make_analyzer(offline, server, max_chars_per_message=100).analyze_sourced([thread], CONTEXT)

    [sent] = server.requests[0].threads
    assert sent["question"] == thread.question[:99] + "…"
    assert sent["answer"] == thread.answer[:99] + "…"


def test_the_api_key_never_reaches_the_logs(
    offline: OfflineAnalyzer, server: StubLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    def respond(request: Recorded) -> Reply:
        # A server that echoes the credentials it rejected.
        rejected = request.headers["authorization"]
        return Reply(status=401, body={"error": f"invalid credentials: {rejected}"})

    server.reset(respond)
    settings = make_settings(server.base_url)
    with caplog.at_level(logging.DEBUG):
        pairs = LLMAnalyzer(offline, settings).analyze_sourced(THREADS, CONTEXT)

    assert sources(pairs) == [OFFLINE] * 4
    assert "HTTP 401" in caplog.text
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(settings)


def test_without_an_api_key_no_authorization_header_is_sent(
    offline: OfflineAnalyzer, server: StubLLMServer
) -> None:
    make_analyzer(offline, server, api_key="").analyze_sourced(THREADS[:1], CONTEXT)

    assert "authorization" not in server.requests[0].headers


# --- settings -------------------------------------------------------------------------


def test_settings_are_none_without_a_base_url() -> None:
    assert LLMSettings.from_env({}) is None
    assert (
        LLMSettings.from_env({"CONVOSCOPE_LLM_BASE_URL": " ", "CONVOSCOPE_LLM_MODEL": "m"}) is None
    )


def test_settings_are_read_from_the_environment() -> None:
    settings = LLMSettings.from_env(
        {
            "CONVOSCOPE_LLM_BASE_URL": "https://api.openai.com/v1/",
            "CONVOSCOPE_LLM_API_KEY": "sk-abc",
            "CONVOSCOPE_LLM_MODEL": "gpt-4o-mini",
            "CONVOSCOPE_LLM_TIMEOUT_SECONDS": "12.5",
            "CONVOSCOPE_LLM_MAX_CONCURRENCY": "2",
            "CONVOSCOPE_LLM_REQUESTS_PER_MINUTE": "500",
            "CONVOSCOPE_LLM_THREADS_PER_REQUEST": "4",
            "CONVOSCOPE_LLM_MAX_CHARS_PER_MESSAGE": "1500",
        }
    )

    assert settings == LLMSettings(
        base_url="https://api.openai.com/v1",
        api_key="sk-abc",
        model="gpt-4o-mini",
        timeout_seconds=12.5,
        max_concurrency=2,
        requests_per_minute=500,
        threads_per_request=4,
        max_chars_per_message=1500,
    )
    assert LLMSettings.from_env(
        {"CONVOSCOPE_LLM_BASE_URL": "http://localhost:11434/v1", "CONVOSCOPE_LLM_MODEL": "llama3.1"}
    ) == LLMSettings(base_url="http://localhost:11434/v1", model="llama3.1")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        pytest.param(
            {"CONVOSCOPE_LLM_MODEL": None},
            "CONVOSCOPE_LLM_MODEL must be set when CONVOSCOPE_LLM_BASE_URL is",
            id="model-missing",
        ),
        pytest.param(
            {"CONVOSCOPE_LLM_BASE_URL": "user:secret@api.example.com/v1"},
            "CONVOSCOPE_LLM_BASE_URL must start with http:// or https://",
            id="base-url-without-scheme",
        ),
        pytest.param(
            {"CONVOSCOPE_LLM_TIMEOUT_SECONDS": "soon"},
            "CONVOSCOPE_LLM_TIMEOUT_SECONDS must be a number; got 'soon'",
            id="timeout-not-a-number",
        ),
        pytest.param(
            {"CONVOSCOPE_LLM_TIMEOUT_SECONDS": "0"},
            "CONVOSCOPE_LLM_TIMEOUT_SECONDS must be between 0.1 and 600; got 0.0",
            id="timeout-zero",
        ),
        pytest.param(
            {"CONVOSCOPE_LLM_MAX_CONCURRENCY": "2.5"},
            "CONVOSCOPE_LLM_MAX_CONCURRENCY must be a whole number; got '2.5'",
            id="concurrency-fraction",
        ),
        pytest.param(
            {"CONVOSCOPE_LLM_MAX_CONCURRENCY": "0"},
            "CONVOSCOPE_LLM_MAX_CONCURRENCY must be between 1 and 64; got 0",
            id="concurrency-zero",
        ),
        pytest.param(
            {"CONVOSCOPE_LLM_REQUESTS_PER_MINUTE": "-5"},
            "CONVOSCOPE_LLM_REQUESTS_PER_MINUTE must be between 1 and 100000; got -5",
            id="rate-negative",
        ),
    ],
)
def test_bad_settings_name_the_variable(variables: dict[str, str | None], message: str) -> None:
    environ = {"CONVOSCOPE_LLM_BASE_URL": "http://localhost:8000/v1", "CONVOSCOPE_LLM_MODEL": "m"}
    for name, value in variables.items():
        if value is None:
            del environ[name]
        else:
            environ[name] = value
    with pytest.raises(ValueError) as caught:
        LLMSettings.from_env(environ)

    assert str(caught.value).startswith(message)
    assert "secret" not in str(caught.value)
