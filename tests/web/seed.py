"""Data for the dashboard tests, logged through the HTTP API as a client would: questions
with markdown answers, feedback, events and searches, and annotations set by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

CATEGORIES = ["api_keys", "billing", "webhooks", "sso", "export"]
SENTIMENTS = ["positive", "neutral", "negative"]
# Uneven, as real questions are: most about keys and billing.
PATTERN = [0, 1, 0, 2, 0, 1, 3, 0, 4, 1, 2, 0]
QUESTIONS = {
    "api_keys": "How do I rotate my API key?",
    "billing": "Why was I charged twice this month?",
    "webhooks": "Do webhooks retry after a timeout?",
    "sso": "Can I use Okta for single sign-on?",
    "export": "How do I export all conversations to CSV?",
}
ANSWER = (
    "Open **Settings → API keys** and click *Rotate*. From code:\n\n"
    "```python\nclient.keys.rotate(key_id)\n```\n\n"
    "See [the key guide](https://docs.example.com/keys). <script>alert('x')</script>"
)


def log_data(base_url: str, api_key: str, *, now: datetime, count: int = 42) -> dict[str, Any]:
    """Log ``count`` conversations over the last two weeks, more of them lately, and
    annotate their threads; returns what was logged."""
    headers = {"Authorization": f"Bearer {api_key}"}
    ids: list[str] = []
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        for i in range(count):
            category = CATEGORIES[PATTERN[i % len(PATTERN)]]
            at = now - timedelta(hours=int(1.5 * i + 0.13 * i * i) + 1)
            cid = f"conv-{i:03d}"
            body = {
                "id": cid,
                "type": "openai" if i % 4 else "support_copilot",
                "createdAt": _iso(at),
                "userProperties": {"id": f"user-{i % 7}"},
                "messages": [
                    {"id": f"{cid}-q", "role": "user", "content": QUESTIONS[category],
                     "createdAt": _iso(at)},
                    {"id": f"{cid}-a", "role": "assistant", "content": ANSWER,
                     "createdAt": _iso(at + timedelta(seconds=20)),
                     "links": [{"url": "https://docs.example.com/keys", "title": "Key guide"}]},
                ],
            }  # fmt: skip
            client.post("/conversations", json=body).raise_for_status()
            ids.append(cid)
            if i % 3 == 0:
                negative = i % 2 == 0
                client.post(
                    "/feedback",
                    json={
                        "id": f"fb-{i}",
                        "messageId": f"{cid}-a",
                        "type": "negative" if negative else "positive",
                        "reasons": [{"label": "inaccurate", "details": "wrong menu"}]
                        if negative
                        else None,
                        "details": "The menu is called Keys now" if negative else None,
                        "createdAt": _iso(at + timedelta(minutes=1)),
                    },
                ).raise_for_status()
            client.post(
                "/events",
                json={"type": "message:copied", "entityType": "message", "messageId": f"{cid}-a",
                      "createdAt": _iso(at + timedelta(seconds=30))},
            ).raise_for_status()  # fmt: skip
            client.post(
                "/events",
                json={"type": "search_query_submitted", "entityType": "search",
                      "searchQuery": ["rotate key", "sso okta", "export csv"][i % 3],
                      "userProperties": {"id": f"user-{i % 7}"},
                      "createdAt": _iso(at - timedelta(minutes=2))},
            ).raise_for_status()  # fmt: skip
        threads = client.post(
            "/query/semantic-threads",
            json={"select": [{"type": "field", "field": "id"},
                             {"type": "field", "field": "conversationIds"}]},
        ).json()["data"]["result"]  # fmt: skip
        for thread in threads:
            i = int(thread["conversationIds"][0].split("-")[1])
            category = CATEGORIES[PATTERN[i % len(PATTERN)]]
            documented = i % 5 != 0
            client.post(
                f"/convoscope/semantic-threads/{thread['id']}/verify",
                json={
                    "category": category,
                    "subject": category.replace("_", " "),
                    "sentiment": SENTIMENTS[(i * i) % 3 if i % 4 else 2],
                    "isDocumented": documented,
                    "isAnswerConfident": i % 4 != 0,
                    "isFeatureSupported": category != "sso",
                    "gapSummary": None if documented else f"No page explains {category}",
                    "languages": ["en", "python"],
                },
            ).raise_for_status()
    return {"conversations": ids}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
