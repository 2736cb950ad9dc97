"""`LLMAnalyzer`: annotations from any OpenAI-compatible chat-completions endpoint.

Optional and never worse than offline: the fallback analyzer (the offline one) annotates
the whole batch first, then the LLM is asked about the same threads, several per request.
A thread keeps its fallback annotation when its request fails (timeout, refused
connection, retries exhausted, HTTP error) or when its item in the reply is missing or
invalid twice. `analyze_sourced` says which analyzer produced each annotation.

```python
settings = LLMSettings.from_env(os.environ)  # None unless CONVOSCOPE_LLM_BASE_URL is set
analyzer = LLMAnalyzer(OfflineAnalyzer(), settings)
for annotation, source in analyzer.analyze_sourced(threads, context):
    ...  # source: "llm:gpt-4o-mini:p1", or "offline:1" for a thread that fell back
```

`llm_client.py` makes the HTTP calls (limits, retries, timeouts, the response-format
ladder), `llm_prompt.py` writes the messages and `llm_schema.py` checks the reply.
LLM.md in the package describes configuration and the fallback ladder.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

import httpx

from convoscope.annotate.analyzers.llm_client import (
    ChatClient,
    FormatLadder,
    InvalidReply,
    LLMSkipped,
    LLMUnavailable,
    RateLimiter,
    ResponseFormat,
)
from convoscope.annotate.analyzers.llm_prompt import PROMPT_VERSION, system_prompt, user_message
from convoscope.annotate.analyzers.llm_schema import (
    SCHEMA_NAME,
    ThreadReply,
    parse_reply,
    reply_schema,
)
from convoscope.annotate.model import Analyzer, Annotation, ProjectContext, ThreadText
from convoscope.settings import LLMSettings

__all__ = ["LLMAnalyzer", "LLMSettings"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class LLMAnalyzer:
    """Annotates threads with an LLM, falling back to `fallback` thread by thread."""

    name = "llm"

    def __init__(
        self,
        fallback: Analyzer,
        settings: LLMSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.fallback = fallback
        self.settings = settings
        # The model and the prompt both change what comes out; either one changing makes
        # stored annotations candidates for recomputation.
        self.version = f"{settings.model}:{PROMPT_VERSION}"
        self._transport = transport
        # Both outlive a batch: the rate limit holds across batches, and a server that
        # refused json_schema once is not asked again.
        self._limiter = RateLimiter(settings.requests_per_minute)
        self._ladder = FormatLadder()

    @property
    def source(self) -> str:
        """Provenance of an annotation this analyzer produced: ``llm:<model>:<prompt>``."""
        return f"{self.name}:{self.version}"

    def fit_context(self, threads: Sequence[ThreadText], context: ProjectContext) -> ProjectContext:
        """The fallback's fitting: the LLM learns nothing ahead of time."""
        fit = getattr(self.fallback, "fit_context", None)
        return context if fit is None else cast(ProjectContext, fit(threads, context))

    def analyze_batch(
        self, threads: Sequence[ThreadText], context: ProjectContext
    ) -> list[Annotation]:
        """Annotate `threads` of one project, in order (see `analyze_sourced`)."""
        return [annotation for annotation, _ in self.analyze_sourced(threads, context)]

    def analyze_sourced(
        self, threads: Sequence[ThreadText], context: ProjectContext
    ) -> list[tuple[Annotation, str]]:
        """Annotate `threads`, each with the provenance of its annotation.

        The provenance is `source` for threads the LLM annotated and
        ``<fallback name>:<fallback version>`` for those that kept the fallback's values.
        Blocking: async code should call it through `asyncio.to_thread`.
        """
        offline = self.fallback.analyze_batch(threads, context)
        if not threads:
            return []
        fallback_source = f"{self.fallback.name}:{self.fallback.version}"
        replies = _run_blocking(functools.partial(self._ask, threads, context))
        pairs: list[tuple[Annotation, str]] = []
        for index, base in enumerate(offline):
            reply = replies.get(index)
            if reply is None:
                pairs.append((base, fallback_source))
            else:
                pairs.append((merge_reply(base, reply, context), self.source))
        return pairs

    # Why asyncio and not a thread pool with a sync client: `asyncio.timeout` puts a hard
    # deadline on a whole request and cancels it cleanly, while a sync client has only
    # per-operation timeouts and a thread blocked in a read cannot be stopped. One event loop
    # per batch costs well under a millisecond; the connection pool lives for the batch.
    async def _ask(
        self, threads: Sequence[ThreadText], context: ProjectContext
    ) -> dict[int, ThreadReply]:
        settings = self.settings
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        async with httpx.AsyncClient(
            base_url=settings.base_url + "/",
            headers=headers,
            timeout=settings.timeout_seconds,
            transport=self._transport,
        ) as http:
            client = ChatClient(
                http,
                timeout_seconds=settings.timeout_seconds,
                max_concurrency=settings.max_concurrency,
                limiter=self._limiter,
                ladder=self._ladder,
                secret=settings.api_key,
            )
            step = settings.threads_per_request
            chunks = [
                list(range(i, min(i + step, len(threads)))) for i in range(0, len(threads), step)
            ]
            parts = await asyncio.gather(
                *(self._ask_chunk(client, threads, chunk, context) for chunk in chunks)
            )
        return {index: reply for part in parts for index, reply in part.items()}

    async def _ask_chunk(
        self,
        client: ChatClient,
        threads: Sequence[ThreadText],
        indexes: list[int],
        context: ProjectContext,
    ) -> dict[int, ThreadReply]:
        """Replies for the threads at `indexes`; threads missing or invalid are asked once more."""
        found: dict[int, ThreadReply] = {}
        pending = indexes
        for attempt in (1, 2):
            asked = [threads[i] for i in pending]
            try:
                text = await client.complete(functools.partial(self._body, asked, context))
                replies, problems = parse_reply(text, len(asked))
            except LLMSkipped:
                # The failure that tripped the breaker has been logged already.
                logger.debug("LLM request skipped; %d thread(s) keep offline ones", len(pending))
                return found
            except LLMUnavailable as err:
                logger.warning(
                    "LLM request failed (%s); %d thread(s) keep offline annotations",
                    err,
                    len(pending),
                )
                return found
            except InvalidReply as err:
                replies, problems = {}, [str(err)]
            except Exception:
                # A bug here must not cost the batch: the offline annotations stand.
                logger.exception(
                    "LLM annotation failed; %d thread(s) keep offline ones", len(pending)
                )
                return found
            for local, reply in replies.items():
                found[pending[local]] = reply
            pending = [i for local, i in enumerate(pending) if local not in replies]
            if pending:
                logger.warning(
                    "LLM reply invalid for %d of %d thread(s) (attempt %d): %s",
                    len(pending),
                    len(asked),
                    attempt,
                    "; ".join(problems[:3]) or "items missing",
                )
            else:
                break
        return found

    def _body(
        self, threads: Sequence[ThreadText], context: ProjectContext, level: ResponseFormat
    ) -> dict[str, Any]:
        names = context.categories.names if context.categories is not None else ()
        body: dict[str, Any] = {
            "model": self.settings.model,
            "temperature": 0,
            "messages": [
                {
                    "role": "system",
                    "content": system_prompt(context, json_only=level is ResponseFormat.PLAIN),
                },
                {
                    "role": "user",
                    "content": user_message(
                        threads, max_chars_per_message=self.settings.max_chars_per_message
                    ),
                },
            ],
        }
        response_format = level.body_field(SCHEMA_NAME, reply_schema(names))
        if response_format is not None:
            body["response_format"] = response_format
        return body


def merge_reply(base: Annotation, reply: ThreadReply, context: ProjectContext) -> Annotation:
    """The LLM's values for one thread, over the fallback annotation `base`.

    The category must be one of the project's category names, otherwise `base`'s stays:
    categories come from offline clustering and the LLM only picks among them. First-party
    names are spelled as configured. Programming languages follow the natural ones.
    """
    names = context.categories.names if context.categories is not None else ()
    category = reply.category if reply.category in names else base.category
    spelling = {term.casefold(): term for term in context.first_party_terms}
    first_party = [spelling.get(name.casefold(), name) for name in reply.first_party_entities]
    gap_summary = None
    if not reply.is_documented:
        gap_summary = (reply.gap_summary or "").strip() or reply.subject
    return Annotation(
        subject=reply.subject,
        category=category,
        question_type=reply.question_type,
        languages=_unique([*reply.languages, *reply.programming_languages]),
        sentiment=reply.sentiment,
        emotion=reply.emotion,
        first_party_entities=_unique(first_party),
        third_party_entities=_unique(reply.third_party_entities),
        is_on_topic=reply.is_on_topic,
        is_clear=reply.is_clear,
        is_documented=reply.is_documented,
        is_feature_supported=reply.is_feature_supported,
        is_answer_confident=reply.is_answer_confident,
        gap_summary=gap_summary,
    )


def _run_blocking(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code.

    The worker calls analyzers from a thread, where `asyncio.run` is right. Called from a
    thread that already runs an event loop, `asyncio.run` would fail, so a helper thread
    runs it instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _unique(items: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.casefold(), item)
    return list(seen.values())
