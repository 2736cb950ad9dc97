"""``convoscope export``: a project as JSONL, one conversation a line, in bounded memory.

The project is read in pages of conversation ids (keyset: each page starts after the
last id of the one before, so no page costs more than the first), each page with its
messages, feedback, events and thread annotations; a page is written out before the
next is read. Everything is read in one transaction, so the file is the project as of
one moment even while a server writes to it. The events of no stored conversation come
last, a line each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import Engine, func, select

from convoscope.store import Scope
from convoscope.store import transfer as bulk
from convoscope.store.conversations import get_conversations
from convoscope.store.tables import conversations
from convoscope.transfer.encode import conversation_line, event_line

PAGE_SIZE = 500


@dataclass(slots=True)
class ExportReport:
    conversations: int = 0
    messages: int = 0
    feedback: int = 0
    events: int = 0
    threads: int = 0


def export_project(
    engine: Engine,
    scope: Scope,
    out: BinaryIO,
    *,
    page_size: int = PAGE_SIZE,
    on_total: Callable[[int], None] = lambda total: None,
    on_page: Callable[[ExportReport], None] = lambda report: None,
) -> ExportReport:
    report = ExportReport()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # one snapshot for every page
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            on_total(
                conn.execute(
                    select(func.count())
                    .select_from(conversations)
                    .where(conversations.c.project_id == scope.project_id)
                ).scalar_one()
            )
            for ids in bulk.conversation_id_pages(conn, scope, page_size=page_size):
                found = get_conversations(conn, scope, ids)
                feedback = bulk.feedback_of(conn, scope, ids)
                events = bulk.events_of(conn, scope, ids)
                threads = bulk.thread_states(conn, scope, ids)
                for conversation_id in ids:
                    c = found[conversation_id]
                    line = conversation_line(
                        c,
                        feedback.get(conversation_id, []),
                        events.get(conversation_id, []),
                        threads.get(conversation_id, []),
                    )
                    out.write(line)
                    report.conversations += 1
                    report.messages += len(c.messages)
                    report.feedback += len(feedback.get(conversation_id, ()))
                    report.events += len(events.get(conversation_id, ()))
                    report.threads += sum(
                        1 for t in threads.get(conversation_id, ()) if not t.is_untouched
                    )
                on_page(report)
            for page in bulk.loose_event_pages(conn, scope, page_size=page_size):
                for event in page:
                    out.write(event_line(event))
                report.events += len(page)
                on_page(report)
    return report
