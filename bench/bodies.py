"""Request bodies for the ingestion benchmark, built before any clock starts.

Every body is distinct (its own conversation, message and session ids), so the server
under test really inserts new rows instead of rewriting one. The texts are random words
of realistic length; their content does not matter, their size does.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

_WORDS = (
    "api key rotate settings project dashboard install configure widget search answer "
    "source documentation error deploy token webhook request response limit upgrade plan "
    "billing export import query filter conversation message feedback event support ticket "
    "agent copilot integration slack discord chat thread question release version migrate "
    "database index cache timeout retry header payload json schema field value default "
    "the a to of and in for on with is it this that how do i can you my we our your"
).split()

_PAGES = ("/docs/install", "/docs/api-keys", "/docs/webhooks", "/pricing", "/docs/search")
_PLANS = ("free", "pro", "enterprise")
_REASONS = ("inaccurate", "irrelevant", "outdated", "too_long", "missing_source")
_CONVERSATION_EVENTS = ("chat_share_button_clicked", "chat_history_cleared")
_MESSAGE_EVENTS = ("chat_message_copied", "chat_code_block_copied")


def random_text(rng: random.Random, low: int = 100, high: int = 400) -> str:
    """Words up to a length drawn between ``low`` and ``high`` characters."""
    target = rng.randint(low, high)
    words: list[str] = []
    length = 0
    while length < target:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    text = " ".join(words)[:target].rstrip()
    return text[0].upper() + text[1:] + "."


@dataclass(frozen=True, slots=True)
class LoggedConversation:
    """A conversation the benchmark logged: what feedback and events may refer to."""

    id: str
    message_ids: tuple[str, ...]
    assistant_message_ids: tuple[str, ...]


class BodyFactory:
    """Makes request bodies; ids carry ``tag`` so that separate batches never collide."""

    def __init__(self, seed: int, *, texts: int = 2000) -> None:
        self._rng = random.Random(seed)
        # A pool of texts reused across bodies: drawing words per body would make
        # generating 100 000 bodies slow, and the server cannot tell the difference.
        self._texts = [random_text(self._rng) for _ in range(texts)]
        self._questions = [random_text(self._rng, 20, 80) for _ in range(200)]

    def _user_properties(self, n: int) -> dict[str, Any]:
        return {"id": f"anon-{n % 5000}", "identificationType": "COOKIED"}

    def conversation(self, tag: str, n: int) -> tuple[bytes, LoggedConversation]:
        """A 4-message openai conversation (user, assistant, user, assistant)."""
        rng = self._rng
        conversation_id = f"conv-{tag}-{n}"
        roles = ("user", "assistant", "user", "assistant")
        message_ids = tuple(f"msg-{tag}-{n}-{i}" for i in range(len(roles)))
        body = {
            "id": conversation_id,
            "type": "openai",
            "properties": {
                "page": rng.choice(_PAGES),
                "plan": rng.choice(_PLANS),
                "locale": "en-US",
            },
            "userProperties": self._user_properties(n),
            "messages": [
                {"id": message_id, "role": role, "content": rng.choice(self._texts)}
                for message_id, role in zip(message_ids, roles, strict=True)
            ],
        }
        logged = LoggedConversation(conversation_id, message_ids, (message_ids[1], message_ids[3]))
        return orjson.dumps(body), logged

    def feedback(self, n: int, logged: Sequence[LoggedConversation]) -> bytes:
        """Thumbs up or down on an assistant message of an already logged conversation."""
        rng = self._rng
        target = logged[n % len(logged)]
        positive = rng.random() < 0.7
        body: dict[str, Any] = {
            "type": "positive" if positive else "negative",
            "messageId": rng.choice(target.assistant_message_ids),
            "properties": {"widget": "chat", "session": f"s-{n}"},
            "userProperties": self._user_properties(n),
        }
        if not positive:
            body["reasons"] = [
                {"label": rng.choice(_REASONS), "details": rng.choice(self._questions)}
            ]
            body["details"] = rng.choice(self._questions)
        return orjson.dumps(body)

    def event(self, n: int, logged: Sequence[LoggedConversation]) -> bytes:
        """One of the three entity types in turn: message, conversation, search."""
        rng = self._rng
        target = logged[n % len(logged)]
        common: dict[str, Any] = {
            "properties": {"widget": "chat", "session": f"s-{n}"},
            "userProperties": self._user_properties(n),
        }
        kind = n % 3
        if kind == 0:
            body = {
                "entityType": "message",
                "type": rng.choice(_MESSAGE_EVENTS),
                "messageId": rng.choice(target.message_ids),
            }
        elif kind == 1:
            body = {
                "entityType": "conversation",
                "type": rng.choice(_CONVERSATION_EVENTS),
                "conversationId": target.id,
            }
        else:
            body = {
                "entityType": "search",
                "type": "search_query_submitted",
                "searchQuery": rng.choice(self._questions),
            }
        return orjson.dumps({**body, **common})
