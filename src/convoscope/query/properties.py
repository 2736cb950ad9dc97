"""Property discovery: the keys found in ``properties`` / ``userProperties`` and the
values of one key (API.md §2.19–2.20), across the views asked for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, select, true
from sqlalchemy.sql.elements import ColumnElement

from convoscope.errors import QueryError
from convoscope.query.compile import compile_filter
from convoscope.query.fields import VIEWS, Resource
from convoscope.query.parse import parse_filter
from convoscope.query.rows import stringify
from convoscope.query.sql import JsonText, JsonValue, object_keys

ALL_VIEWS = ("conversations_view", "events_view", "feedback_view", "semantic_threads_view")


def view_conditions(
    views: Sequence[str] | None, where: dict[str, Any] | None, project_id: str
) -> list[tuple[Resource, ColumnElement[bool]]]:
    """Each chosen view with its row condition. A ``where`` that names a field a view does
    not have leaves that view out (API.md §2.19); other mistakes are errors."""
    chosen = list(dict.fromkeys(views or ALL_VIEWS))
    out: list[tuple[Resource, ColumnElement[bool]]] = []
    errors: list[QueryError] = []
    for name in chosen:
        resource = VIEWS[name]
        condition: ColumnElement[bool] = true()
        if where is not None:
            try:
                condition = compile_filter(parse_filter(resource, where, "where"))
            except QueryError as err:
                if (err.field or "").endswith(".field") and "must be one of the" in err.detail:
                    errors.append(err)
                    continue
                raise
        out.append((resource, and_(resource.project_column() == project_id, condition)))
    if not out and errors:
        raise errors[0]
    return out


def property_keys(
    conn: Connection, project_id: str, field: str, views: Sequence[str] | None, where: Any
) -> list[str]:
    keys: set[str] = set()
    for resource, condition in view_conditions(views, where, project_id):
        column = resource.fields[field].column()
        statement = object_keys(conn.dialect.name, resource.table, column, condition)
        keys.update(str(k) for k in conn.execute(statement).scalars())
    return sorted(keys)


def property_values(
    conn: Connection,
    project_id: str,
    field: str,
    key: str,
    views: Sequence[str] | None,
    where: Any,
    limit: int,
) -> list[str]:
    """Distinct values of ``field.key`` as strings, most frequent first.

    Every distinct value is counted before the cut: values that render to the same string
    (``3`` and ``"3"``), or that appear in several views, add up, so no per-view limit
    could pick the right ones.
    """
    counts: Counter[str] = Counter()
    for resource, condition in view_conditions(views, where, project_id):
        value = JsonValue(resource.fields[field].column(), (key,)).label("v")
        inner = select(value).where(condition).subquery("q")
        n = func.count().label("n")
        statement = select(JsonText(inner.c.v), n).where(inner.c.v.is_not(None)).group_by(inner.c.v)
        for text, count in conn.execute(statement):
            counts[stringify(orjson.loads(text))] += int(count)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [value for value, _ in ranked[:limit]]
