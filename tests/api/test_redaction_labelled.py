"""The labelled texts, sent through each write path with redaction on: no value the
detectors find in them reaches the database, on either engine, whichever path carried it
(message content, feedback details, a search query, a property)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlalchemy import Engine

from convoscope.redaction import DEFAULT_KINDS, RedactionPolicy, Redactor
from tests.api.test_redaction import stored_text, turn_on
from tests.conftest import ProjectKeys

LABELLED = Path(__file__).resolve().parents[1] / "data" / "pii_labelled.jsonl"


async def test_labelled_values_found_never_reach_the_database(
    client: httpx.AsyncClient, engine: Engine, project: ProjectKeys
) -> None:
    turn_on(engine, project)
    items = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    finder = Redactor(RedactionPolicy(kinds=DEFAULT_KINDS))
    expected_gone: set[str] = set()
    for n, item in enumerate(items):
        text = item["text"]
        found = {f.value for f in finder.find(text)}
        expected_gone |= {label["value"] for label in item["pii"] if label["value"] in found}
        path = n % 3
        if path == 0:
            body = {
                "id": f"c{n}",
                "type": "openai",
                "properties": {"note": text},
                "messages": [
                    {"id": f"m{n}", "role": "user", "content": text},
                    {
                        "id": f"a{n}",
                        "role": "assistant",
                        "content": [{"type": "text", "text": text}],
                    },
                ],
            }
            assert (await client.post("/conversations", json=body)).status_code == 200
        elif path == 1:
            body = {
                "id": f"c{n}",
                "type": "openai",
                "messages": [
                    {"id": f"m{n}", "role": "user", "content": "q"},
                    {"id": f"a{n}", "role": "assistant", "content": "a"},
                ],
            }
            assert (await client.post("/conversations", json=body)).status_code == 200
            fb = {"type": "negative", "messageId": f"a{n}", "details": text}
            assert (await client.post("/feedback", json=fb)).status_code == 200
        else:
            event = {
                "type": "search",
                "entityType": "search",
                "searchQuery": text,
                "userProperties": {"id": f"u{n}", "note": text},
            }
            assert (await client.post("/events", json=event)).status_code == 200
    assert len(expected_gone) >= 55  # distinct values found (a few repeat)
    stored = stored_text(engine)
    assert sorted(v for v in expected_gone if v in stored) == []
