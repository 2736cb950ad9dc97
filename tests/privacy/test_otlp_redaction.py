"""Spans sent to the OTLP intake are redacted like every other write: the intake logs
conversations through the same store upsert, so the project's redaction applies."""

from __future__ import annotations

from sqlalchemy import Engine

from convoscope.redaction import DEFAULT_KINDS
from convoscope.store import writer_connection
from convoscope.store.privacy import PrivacySettings, RedactionSettings, save_privacy
from tests.api.test_redaction import stored_text
from tests.conftest import LiveServer
from tests.otlp.spans import SpanMaker, text
from tests.otlp.test_traces import export, get_conversation


def test_genai_spans_are_stored_redacted(live_server: LiveServer, engine: Engine) -> None:
    with writer_connection(engine) as conn, conn.begin():
        save_privacy(
            conn,
            live_server.project.scope.project_id,
            PrivacySettings(redaction=RedactionSettings(kinds=DEFAULT_KINDS)),
        )
    span = SpanMaker().chat(
        inputs=[
            text("user", "my key sk-proj-abcdefghijklmnopqrstuvwx12 fails, mail ann@example.com")
        ],
        outputs=[text("assistant", "I will write to ann@example.com")],
        start_s=0,
        conversation="otlp-1",
        user="u-1",
    )
    export(live_server, [span])
    stored = get_conversation(live_server, "otlp-1")
    assert [m["content"] for m in stored["messages"]] == [
        "my key <SECRET> fails, mail <EMAIL>",
        "I will write to <EMAIL>",
    ]
    everything = stored_text(engine)
    assert "ann@example.com" not in everything and "sk-proj-" not in everything
