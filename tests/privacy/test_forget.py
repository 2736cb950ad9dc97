"""Forgetting a user deletes every conversation, feedback and event of theirs, by any of
the identifiers the project names, leaves everyone else's data alone, records how much
went without recording who, and leaves no byte of theirs in the SQLite file or its WAL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from convoscope.cli import app
from convoscope.store import writer_connection
from convoscope.store.privacy import PrivacySettings, load_privacy, save_privacy
from convoscope.store.tables import (
    conversations,
    erasures,
    events,
    feedback,
    messages,
    semantic_threads,
)
from tests.api.test_errors import assert_problem
from tests.conftest import LiveServer, ProjectKeys

USER = "user-7f3a9c"
MARK = "zebra-marmalade"  # only ever in the forgotten user's messages


def conversation(cid: str, user: dict[str, Any] | None, turns: int, mark: str) -> dict[str, Any]:
    msgs: list[dict[str, Any]] = []
    for n in range(turns):
        msgs.append({"id": f"{cid}-q{n}", "role": "user", "content": f"{mark} question {n}"})
        msgs.append({"id": f"{cid}-a{n}", "role": "assistant", "content": f"{mark} answer {n}"})
    body: dict[str, Any] = {"id": cid, "type": "openai", "messages": msgs}
    if user is not None:
        body["userProperties"] = user
    return body


def log_users(http: httpx.Client) -> None:
    """The user's data under each identifier, and another user's next to it."""
    # Re-logged as it grows, as clients do: each upsert deletes the earlier messages.
    for turns in (1, 2, 3):
        sent = http.post("/conversations", json=conversation("c-id", {"id": USER}, turns, MARK))
        assert sent.status_code == 200, sent.text
    for body in (
        conversation("c-userid", {"userId": USER}, 1, MARK),
        conversation("c-email", {"email": f"{USER}@example.com"}, 1, MARK),
        conversation("c-other", {"id": "someone-else"}, 2, "keep-this-text"),
    ):
        assert http.post("/conversations", json=body).status_code == 200
    message_user = conversation("c-anon", None, 1, MARK)
    message_user["messages"][0]["userProperties"] = {"id": USER}
    assert http.post("/conversations", json=message_user).status_code == 200
    # Feedback and events of the user on someone else's conversation, and the other's own.
    fb = {"type": "negative", "messageId": "c-other-a0", "userProperties": {"id": USER}}
    assert http.post("/feedback", json=fb).status_code == 200
    assert http.post("/feedback", json={"type": "positive", "messageId": "c-other-a1"}).is_success
    for query, user in ((f"{MARK} search", USER), ("kept search", "someone-else")):
        event = {
            "type": "search",
            "entityType": "search",
            "searchQuery": query,
            "userProperties": {"id": user},
        }
        assert http.post("/events", json=event).status_code == 200
    event = {"type": "message:copied", "entityType": "message", "messageId": "c-id-a0"}
    assert http.post("/events", json=event).status_code == 200


def name_email_identifier(engine: Engine, project: ProjectKeys) -> None:
    with writer_connection(engine) as conn, conn.begin():
        save_privacy(conn, project.scope.project_id, PrivacySettings(user_identifiers=("email",)))


def remaining(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as conn:
        return {
            "conversations": sorted(conn.execute(select(conversations.c.id)).scalars()),
            "messages": sorted(conn.execute(select(messages.c.conversation_id)).scalars()),
            "feedback": sorted(conn.execute(select(feedback.c.message_id)).scalars()),
            "events": sorted(str(q) for q in conn.execute(select(events.c.search_query)).scalars()),
            "threads": sorted(conn.execute(select(semantic_threads.c.conversation_id)).scalars()),
        }


EXPECTED_LEFT = {
    "conversations": ["c-other"],
    "messages": ["c-other"] * 4,
    "feedback": ["c-other-a1"],
    "events": ["kept search"],
    "threads": ["c-other", "c-other"],
}
# By id: c-id (re-logged to 3 turns), c-userid, c-anon (a message's userProperties), the
# user's feedback and search event on others' data, and the event on their own message.
EXPECTED_COUNTS = {
    "conversations": 3,
    "messages": 6 + 2 + 2,
    "feedback": 1,
    "events": 2,
    "semanticThreads": 3 + 1 + 1,
}


def test_forget_leaves_no_byte_of_the_user_in_the_sqlite_file_or_its_wal(
    live_server: LiveServer, engine: Engine, database_url: str, dialect: str
) -> None:
    if dialect != "sqlite":
        pytest.skip("a byte search of the database file is SQLite's")
    name_email_identifier(engine, live_server.project)
    headers = {"Authorization": f"Bearer {live_server.project.api_key}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as http:
        log_users(http)
        path = Path(database_url.removeprefix("sqlite:///"))
        before = _file_bytes(path)
        assert USER.encode() in before and MARK.encode() in before
        dry = http.post("/convoscope/privacy/forget", json={"userId": USER, "dryRun": True})
        assert dry.json() == {"dryRun": True, "erasureId": None, **EXPECTED_COUNTS}
        done = http.post("/convoscope/privacy/forget", json={"userId": USER})
        assert done.status_code == 200, done.text
        assert done.json() == {
            "dryRun": False,
            "erasureId": done.json()["erasureId"],
            **EXPECTED_COUNTS,
        }
        by_email = {"userId": f"{USER}@example.com"}
        assert http.post("/convoscope/privacy/forget", json=by_email).json()["messages"] == 2
    assert remaining(engine) == EXPECTED_LEFT
    after = _file_bytes(path)
    assert USER.encode() not in after
    assert MARK.encode() not in after
    assert b"keep-this-text" in after


def _file_bytes(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_forget_deletes_by_every_identifier_on_both_engines_and_is_audited(
    live_server: LiveServer, engine: Engine
) -> None:
    name_email_identifier(engine, live_server.project)
    headers = {"Authorization": f"Bearer {live_server.project.api_key}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as http:
        log_users(http)
        dry = http.post("/convoscope/privacy/forget", json={"userId": USER, "dryRun": True})
        assert dry.json()["conversations"] == 3
        assert remaining(engine)["conversations"] == [
            "c-anon",
            "c-email",
            "c-id",
            "c-other",
            "c-userid",
        ]
        # The email identifier is one more form of the same person.
        by_email = http.post(
            "/convoscope/privacy/forget", json={"userId": f"{USER}@example.com"}
        ).json()
        assert by_email["conversations"] == 1
        by_id = http.post("/convoscope/privacy/forget", json={"userId": USER}).json()
        assert by_id["conversations"] == 3
    assert remaining(engine) == EXPECTED_LEFT
    with engine.connect() as conn:
        audit = [dict(r) for r in conn.execute(select(erasures)).mappings()]
    assert sorted((a["reason"], a["conversations"], a["feedback"]) for a in audit) == [
        ("forget", 1, 0),
        ("forget", 3, 1),
    ]
    assert all(a["requested_by"].startswith("key:key_") for a in audit)
    assert USER not in repr(audit)


@pytest.mark.parametrize(
    ("user_id", "forgotten"),
    [("7", ["c-number", "c-string"]), ("0", []), ("u1", ["c-text"])],
)
async def test_an_id_of_digits_forgets_that_number_and_that_string_and_no_one_else(
    client: httpx.AsyncClient, user_id: str, forgotten: list[str]
) -> None:
    # Read as an integer, "u1" was 0 on SQLite (so forgetting "0" took it) and an error
    # on PostgreSQL (a 500).
    for cid, user in (("c-number", 7), ("c-string", "7"), ("c-text", "u1"), ("c-70", 70)):
        body = conversation(cid, {"id": user}, 1, MARK)
        assert (await client.post("/conversations", json=body)).status_code == 200
    answer = await client.post("/convoscope/privacy/forget", json={"userId": user_id})
    assert answer.status_code == 200, answer.text
    assert answer.json()["conversations"] == len(forgotten)
    left = {c["id"] for c in (await client.get("/conversations")).json()["conversations"]}
    assert left == {"c-number", "c-string", "c-text", "c-70"} - set(forgotten)


async def test_forget_needs_an_api_key_and_a_user(
    app_client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    web = {"Authorization": f"Bearer {project.web_key}"}
    response = await app_client.post(
        "/convoscope/privacy/forget", json={"userId": "u"}, headers=web
    )
    assert_problem(response, 403)
    api = {"Authorization": f"Bearer {project.api_key}"}
    empty = await app_client.post("/convoscope/privacy/forget", json={"userId": ""}, headers=api)
    assert empty.status_code in (400, 422)
    assert "userId" in empty.text


async def test_privacy_settings_round_trip_through_the_api(
    client: httpx.AsyncClient, engine: Engine, project: ProjectKeys
) -> None:
    assert (await client.get("/convoscope/privacy/settings")).json() == {
        "redaction": None,
        "retentionDays": None,
        "userIdentifiers": [],
    }
    redaction: dict[str, Any] = {
        "kinds": ["email", "card"],
        "hash": True,
        "allowKeys": ["plan"],
        "denyKeys": [],
    }
    wanted = {
        "redaction": redaction,
        "retentionDays": 90,
        "userIdentifiers": ["email"],
    }
    put = await client.put("/convoscope/privacy/settings", json=wanted)
    assert put.status_code == 200, put.text
    assert put.json() == {
        **wanted,
        "redaction": {**redaction, "kinds": ["card", "email"]},
    }
    with engine.connect() as conn:
        stored = load_privacy(conn, project.scope.project_id)
    assert stored.retention_days == 90 and stored.user_identifiers == ("email",)
    # The next write is redacted at once: the change was made in the server's process.
    body = conversation("c1", {"id": "a@example.com"}, 1, "mail a@example.com")
    assert (await client.post("/conversations", json=body)).status_code == 200
    got = (await client.get("/conversations/c1")).json()
    assert got["messages"][0]["content"].startswith("mail <EMAIL:")
    bad = await client.put("/convoscope/privacy/settings", json={"retentionDays": 0})
    assert_problem(bad, 422 if bad.status_code == 422 else 400)
    assert "retentionDays" in bad.text


def test_cli_forget_dry_run_then_for_real(
    live_server: LiveServer, engine: Engine, database_url: str
) -> None:
    headers = {"Authorization": f"Bearer {live_server.project.api_key}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as http:
        log_users(http)
    env = {"CONVOSCOPE_DATABASE_URL": database_url}
    runner = CliRunner()
    args = ["forget", "--project", "acme", "--user-id", USER]
    dry = runner.invoke(app, [*args, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.strip() == (
        "would delete 3 conversations, 10 messages, 1 feedback, 2 events, 5 semantic threads"
    )
    done = runner.invoke(app, args, env=env)
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("deleted 3 conversations, 10 messages")
    assert remaining(engine)["conversations"] == ["c-email", "c-other"]
    log = runner.invoke(app, ["erasures", "--project", "acme"], env=env)
    assert log.exit_code == 0, log.output
    row = next(line for line in log.stdout.splitlines() if "forget" in line)
    assert [cell.strip() for cell in row.split("│")][2:8] == ["forget", "cli", "3", "10", "1", "2"]
    assert USER not in log.stdout
