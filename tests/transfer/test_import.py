"""``convoscope import`` of create bodies and OpenAI chat lines: validated as the API
validates, a bad line reported with its number and field and skipped (or, ``--strict``,
the end of the import), no conversation half imported, a second import a no-op."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from convoscope.cli import app
from convoscope.store import Scope
from convoscope.store.conversations import get_conversation
from convoscope.store.tables import conversations, feedback, messages
from convoscope.transfer import BadLine, LineReader, import_lines
from tests.builders import openai_conversation
from tests.conftest import ProjectKeys

runner = CliRunner()


def write_lines(path: Path, *lines: Any) -> Path:
    path.write_bytes(
        b"".join(
            (line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n" for line in lines
        )
    )
    return path


def import_file(
    engine: Engine, scope: Scope, path: Path, **options: Any
) -> tuple[Any, list[BadLine]]:
    bad: list[BadLine] = []
    with LineReader(path) as lines:
        report = import_lines(engine, scope, lines, on_bad=bad.append, **options)
    return report, bad


def stored_ids(engine: Engine, scope: Scope) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(conversations.c.id)
                .where(conversations.c.project_id == scope.project_id)
                .order_by(conversations.c.id)
            ).scalars()
        )


CHAT = {
    "messages": [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "18C"},
        {"role": "assistant", "content": "18°C and sunny.", "weight": 1},
    ],
    "metadata": {"split": "eval"},
}


def test_openai_chat_lines_become_openai_conversations_with_ids_from_their_content(
    engine: Engine, project: ProjectKeys, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "chat.jsonl", CHAT, CHAT)
    report, bad = import_file(engine, project.scope, path)
    assert bad == []
    assert (report.lines, report.conversations) == (2, 2)
    ids = stored_ids(engine, project.scope)
    assert len(ids) == 2 and all(i.startswith("conv_") for i in ids), "one per line"
    with engine.connect() as conn:
        stored = get_conversation(conn, project.scope, ids[0])
    assert [(m.role, m.content) for m in stored.messages] == [
        ("system", "Be brief."),
        ("user", "Weather in Paris?"),
        ("assistant", ""),
        ("assistant", "18°C and sunny."),
    ]
    assert stored.messages[2].tool_calls is not None
    assert stored.properties == {"split": "eval"}
    assert all(m.id.startswith("msg_") for m in stored.messages)


def test_a_second_import_of_bodies_and_chat_lines_changes_nothing(
    engine: Engine, project: ProjectKeys, tmp_path: Path
) -> None:
    body = openai_conversation("conv_body", turns=2, properties={"k": 1})
    no_id = openai_conversation(turns=1)
    path = write_lines(tmp_path / "mixed.jsonl", body, CHAT, no_id)
    import_file(engine, project.scope, path)
    before = snapshot(engine, project.scope)
    report, bad = import_file(engine, project.scope, path)
    assert bad == []
    assert (report.conversations, report.unchanged) == (0, 3)
    assert snapshot(engine, project.scope) == before


def test_a_changed_line_updates_its_conversation_through_the_upsert(
    engine: Engine, project: ProjectKeys, tmp_path: Path
) -> None:
    import_file(engine, project.scope, write_lines(tmp_path / "a.jsonl", openai_conversation("c1")))
    with engine.connect() as conn:
        first = get_conversation(conn, project.scope, "c1").messages
    longer = openai_conversation("c1", turns=2)
    report, _ = import_file(engine, project.scope, write_lines(tmp_path / "b.jsonl", longer))
    assert (report.conversations, report.unchanged) == (1, 0)
    with engine.connect() as conn:
        now = get_conversation(conn, project.scope, "c1").messages
    assert [m.id for m in now[:2]] == [m.id for m in first], "ids kept by position"
    assert len(now) == 4


def snapshot(engine: Engine, scope: Scope) -> list[Any]:
    with engine.connect() as conn:
        return [
            get_conversation(conn, scope, conversation_id)
            for conversation_id in stored_ids(engine, scope)
        ]


BAD_LINES: list[Any] = [
    openai_conversation("good_1"),
    b"{not json",
    {"messages": [{"role": "user", "content": "hi"}, {"role": "robot", "content": "beep"}]},
    openai_conversation("bad_content", messages=[{"role": "user", "content": 5}]),
    {"conversation": {"type": "openai", "id": "bad_export"}},
    {
        "conversation": openai_conversation(
            "half", messages=[{"id": "h1", "role": "user", "content": "q"}]
        ),
        "feedback": [{"id": "f1", "type": "positive", "messageId": "nowhere"}],
    },
    {
        "type": "openai",
        "id": "dup",
        "messages": [
            {"id": "x", "role": "user", "content": "a"},
            {"id": "x", "role": "assistant", "content": "b"},
        ],
    },
    [1, 2],
    openai_conversation("good_2"),
]


@pytest.mark.parametrize("batch_size", [1000, 1], ids=["one-batch", "a-batch-a-line"])
def test_bad_lines_are_reported_with_their_number_and_field_and_skipped(
    engine: Engine, project: ProjectKeys, tmp_path: Path, batch_size: int
) -> None:
    path = write_lines(tmp_path / "bad.jsonl", *BAD_LINES)
    report, bad = import_file(engine, project.scope, path, batch_size=batch_size)
    # Lines that do not parse are reported at once, those the store refuses with their batch.
    bad.sort(key=lambda b: b.line)
    assert [(b.line, b.field) for b in bad] == [
        (2, None),
        (3, "messages[1].role"),
        (4, "messages[0].content"),
        (5, "conversation.messages"),
        (6, "feedback[0].messageId"),
        (7, "messages[1].id"),
        (8, None),
    ]
    assert bad[0].message.startswith("not JSON")
    assert "no message with id 'nowhere'" in bad[4].message
    assert str(bad[1]).startswith("line 3: messages[1].role: must be one of")
    assert (report.lines, report.bad) == (9, 7)
    # The conversation whose feedback failed is not there either: nothing half imported.
    assert stored_ids(engine, project.scope) == ["good_1", "good_2"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(feedback)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(messages)).scalar_one() == 4


def test_strict_stops_at_the_first_bad_line_with_the_lines_before_it_imported(
    database_url: str, engine: Engine, project: ProjectKeys, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "bad.jsonl", *BAD_LINES)
    result = runner.invoke(
        app,
        ["import", str(path), "--project", "acme", "--strict"],
        env={"CONVOSCOPE_DATABASE_URL": database_url},
    )
    assert result.exit_code == 1
    assert "line 2: not JSON" in result.stderr
    assert "stopped at line 2" in result.stderr
    assert "line 3" not in result.stderr
    assert stored_ids(engine, project.scope) == ["good_1"]


def test_strict_stops_at_a_line_the_store_refuses(
    engine: Engine, project: ProjectKeys, tmp_path: Path
) -> None:
    path = write_lines(
        tmp_path / "refused.jsonl",
        openai_conversation("ok"),
        BAD_LINES[5],
        openai_conversation("after"),
    )
    report, bad = import_file(engine, project.scope, path, strict=True)
    assert report.stopped_at == bad[0]
    assert (bad[0].line, bad[0].field) == (2, "feedback[0].messageId")
    assert stored_ids(engine, project.scope) == ["ok"]


def test_the_command_reports_skipped_lines_and_counts(
    database_url: str, engine: Engine, project: ProjectKeys, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "bad.jsonl", *BAD_LINES)
    result = runner.invoke(
        app,
        ["import", str(path), "--project", "acme"],
        env={"CONVOSCOPE_DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output
    assert "skipped line 3: messages[1].role: must be one of" in result.stderr
    assert "9 lines: 2 conversations written, 0 unchanged" in result.stdout
    assert "7 bad lines skipped" in result.stdout


def test_message_ids_taken_by_another_conversation_are_refused(
    engine: Engine, project: ProjectKeys, tmp_path: Path
) -> None:
    one = {"type": "openai", "id": "one", "messages": [{"id": "m", "role": "user", "content": "a"}]}
    two = {"type": "openai", "id": "two", "messages": [{"id": "m", "role": "user", "content": "b"}]}
    import_file(engine, project.scope, write_lines(tmp_path / "1.jsonl", one))
    _, bad = import_file(engine, project.scope, write_lines(tmp_path / "2.jsonl", two, one))
    assert [(b.line, b.field) for b in bad] == [(1, "messages")]
    assert "already belongs to conversation 'one'" in bad[0].message
    _, bad = import_file(
        engine,
        project.scope,
        write_lines(tmp_path / "3.jsonl", {**two, "id": "three"}, {**two, "id": "four"}),
    )
    assert [b.line for b in bad] == [1, 2]


def test_an_export_line_naming_threads_its_messages_do_not_form_is_refused(
    engine: Engine, project: ProjectKeys, tmp_path: Path
) -> None:
    conversation = openai_conversation("t", messages=[{"id": "u", "role": "user", "content": "q"}])
    lines = [
        {"conversation": conversation, "threads": [{"id": "st_other", "status": "done"}]},
        {
            "conversation": {**conversation, "id": "t2"},
            "threads": [{"id": "st_y", "status": "odd"}],
        },
    ]
    _, bad = import_file(engine, project.scope, write_lines(tmp_path / "t.jsonl", *lines))
    assert [(b.line, b.field) for b in bad] == [
        (1, "threads[0].id"),
        (2, "threads[0].status"),
    ]
    assert stored_ids(engine, project.scope) == []


async def test_a_bad_create_body_is_told_in_the_words_the_api_answers_it_with(
    client: httpx.AsyncClient, engine: Engine, project: ProjectKeys, tmp_path: Path
) -> None:
    bodies = [
        {"type": "openai", "messages": [{"role": "user", "content": 3}]},
        {"type": "chat", "messages": [{"role": "user", "content": "hi"}]},
        {"type": "openai", "messages": [{"role": "tool"}], "visibility": "all"},
    ]
    answers = [(await client.post("/conversations", json=body)).json() for body in bodies]
    _, bad = import_file(engine, project.scope, write_lines(tmp_path / "b.jsonl", *bodies))
    assert [(b.field, str(b)) for b in bad] == [
        (answer["field"], f"line {n}: {answer['detail']}") for n, answer in enumerate(answers, 1)
    ]


def sync_settings(engine: Engine) -> tuple[int, int]:
    """The connection's ``synchronous`` and ``wal_autocheckpoint``."""
    with engine.connect() as conn:
        driver: Any = conn.connection.driver_connection
        return (
            int(driver.execute("PRAGMA synchronous").fetchone()[0]),
            int(driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0]),
        )


def test_batches_commit_without_an_fsync_and_the_connection_is_put_back_after(
    engine: Engine, project: ProjectKeys, tmp_path: Path
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's synchronous setting only")
    seen: list[tuple[int, int]] = []
    path = write_lines(tmp_path / "two.jsonl", openai_conversation("c1"), openai_conversation("c2"))
    with LineReader(path) as lines:
        import_lines(
            engine,
            project.scope,
            lines,
            batch_size=1,
            on_batch=lambda _: seen.append(sync_settings(engine)),
        )
    # NORMAL and seldom checkpointed while importing, FULL and SQLite's default after.
    assert (seen, sync_settings(engine)) == ([(1, 100_000), (1, 100_000)], (2, 1000))
    assert stored_ids(engine, project.scope) == ["c1", "c2"]
