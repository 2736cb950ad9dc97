"""Property discovery: the keys found in ``properties`` / ``userProperties`` and the
values of one key (API.md §2.19–2.20), across the views asked for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, literal, select, true, union_all
from sqlalchemy.sql.elements import ColumnElement

from convoscope.errors import QueryError
from convoscope.query.compile import PathColumns, compile_filter, indexed_column
from convoscope.query.fields import VIEWS, Resource
from convoscope.query.parse import UnknownField, parse_filter
from convoscope.query.rows import stringify
from convoscope.sql import CodePointOrder, JsonIsContainer, JsonString, object_keys

ALL_VIEWS = tuple(VIEWS)


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
            except UnknownField as err:
                if not (err.field or "").endswith(".field"):
                    raise
                errors.append(err)
                continue
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
    path_columns: PathColumns | None = None,
) -> list[str]:
    """Distinct values of ``field.key`` as strings, most frequent first, ties in code point
    order.

    The database renders each value as a string (``3`` and ``"3"`` both as ``3``), so that
    values rendering alike, and the same value in several views, count together; it then
    groups, counts, orders and cuts to ``limit``. Objects and arrays come back as the
    database writes their JSON text and are written compactly here (PostgreSQL puts spaces
    after ``:`` and ``,``): on PostgreSQL, ties among them are ordered by that spaced text.

    A view whose table has the key indexed (``path_columns``, SQLite) is counted from the
    index, one row per distinct value, and rendered from the value's JSON text there.
    """
    parts = []
    for resource, condition in view_conditions(views, where, project_id):
        column = resource.fields[field].column()
        stored = indexed_column(path_columns or {}, column, (key,))
        if stored is None:
            parts.append(
                select(
                    JsonString(column, (key,)).label("value"),
                    JsonIsContainer(column, (key,)).label("container"),
                    literal(1).label("n"),
                ).where(condition)
            )
            continue
        parts.append(
            select(
                JsonString(stored, ()).label("value"),
                JsonIsContainer(stored, ()).label("container"),
                func.count().label("n"),
            )
            .where(condition)
            .group_by(stored)
        )
    if not parts:
        return []
    values = union_all(*parts).subquery("v")
    n = func.sum(values.c.n).label("n")
    statement = (
        select(values.c.value, values.c.container, n)
        .where(values.c.value.is_not(None))
        .group_by(values.c.value, values.c.container)
        .order_by(n.desc(), CodePointOrder(values.c.value), values.c.container)
        .limit(limit)
    )
    counts: dict[str, int] = {}
    for value, container, count in conn.execute(statement):
        text = stringify(orjson.loads(value)) if container else value
        # A string whose text equals an object's compact JSON: one value on the wire.
        counts[text] = counts.get(text, 0) + int(count)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [value for value, _ in ranked]
