"""Redacting what is already stored: the columns the write path redacts, row by row.

For data written before a project turned redaction on (or before it added a kind). Each
batch is one transaction; a conversation whose messages changed has its semantic threads
derived again (their question and answer hold the messages' text), and conversations
whose properties changed too (threads copy them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, func, select, update

from convoscope.redaction import Redactor
from convoscope.store import summaries
from convoscope.store.conversations import get_conversations
from convoscope.store.records import Scope
from convoscope.store.tables import conversations, events, feedback, messages
from convoscope.store.threads import derive_threads

# What the write path redacts (store/privacy.py), as columns, and how each is read.
Rewrite = Callable[[Redactor, Any], Any]


def _text(r: Redactor, value: Any) -> Any:
    return r.text(value) if isinstance(value, str) else value


def _json(r: Redactor, value: Any) -> Any:
    return r.json(value)


def _content(r: Redactor, value: Any) -> Any:
    return r.content(value)


COLUMNS: dict[str, dict[str, Rewrite]] = {
    "conversations": {"properties": _json, "user_properties": _json},
    "messages": {
        "content": _content,
        "tool_calls": _json,
        "properties": _json,
        "user_properties": _json,
    },
    "feedback": {
        "details": _text,
        "reasons": _json,
        "properties": _json,
        "user_properties": _json,
    },
    "events": {"search_query": _text, "properties": _json, "user_properties": _json},
}
TABLES: dict[str, Table] = {
    "conversations": conversations,
    "messages": messages,
    "feedback": feedback,
    "events": events,
}


@dataclass(slots=True)
class Batch:
    """One batch's outcome: rows read, rows changed, and where the next batch starts."""

    rows: int = 0
    changed: int = 0
    last_id: str | None = None
    # Conversations whose threads must be derived again (rederive), once all is done.
    touched: set[str] = field(default_factory=set)


def count_rows(conn: Connection, project_id: str) -> dict[str, int]:
    return {
        name: int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.project_id == project_id)
            ).scalar_one()
        )
        for name, table in TABLES.items()
    }


def redact_batch(
    conn: Connection,
    project_id: str,
    table_name: str,
    redactor: Redactor,
    *,
    after: str | None,
    limit: int,
    apply: bool,
) -> Batch:
    """Redact up to ``limit`` rows of the table with ids after ``after``."""
    table = TABLES[table_name]
    rewrites = COLUMNS[table_name]
    extra = [table.c.conversation_id] if table_name == "messages" else []
    query = (
        select(table.c.id, *extra, *(table.c[name] for name in rewrites))
        .where(table.c.project_id == project_id)
        .order_by(table.c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(table.c.id > after)
    batch = Batch()
    for row in conn.execute(query).mappings().all():
        batch.rows += 1
        batch.last_id = row["id"]
        changes = {}
        for name, rewrite in rewrites.items():
            new = rewrite(redactor, row[name])
            if new != row[name]:
                changes[name] = new
        if not changes:
            continue
        batch.changed += 1
        if apply:
            statement = (
                update(table)
                .where(table.c.project_id == project_id, table.c.id == row["id"])
                .values(**changes)
            )
            if table_name == "conversations":
                # A redacted userProperties.id is another user in the dashboard's counts.
                with summaries.kept_current(
                    conn, project_id, [row["id"]], parts=(summaries.CONVERSATIONS,)
                ):
                    conn.execute(statement)
            else:
                conn.execute(statement)
        if table_name == "messages":
            batch.touched.add(row["conversation_id"])
        elif table_name == "conversations":
            batch.touched.add(row["id"])
    return batch


def rederive(conn: Connection, project_id: str, conversation_ids: Iterable[str]) -> None:
    """Threads from the redacted messages; annotations stay where question and answer did."""
    any_scope = Scope(organization_id="", project_id=project_id)
    for conversation in get_conversations(conn, any_scope, conversation_ids).values():
        scope = Scope(conversation.organization_id, project_id, conversation.integration_id)
        # Changed questions lose their annotations, and the counts of them go too.
        with summaries.kept_current(
            conn, project_id, [conversation.id], parts=(summaries.THREADS,)
        ):
            derive_threads(conn, scope, conversation, replacing=True)
