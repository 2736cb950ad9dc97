"""The time constructs on SQLite, over timestamps stored as ``YYYY-MM-DD HH:MM:SS.ffffff``
(UTC) text."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from convoscope.sql.constructs import BucketText, IsoTime, TimeBucket


@compiles(TimeBucket, "sqlite")
def _bucket_sqlite(element: TimeBucket, compiler: SQLCompiler, **kw: Any) -> str:
    # Timestamps are stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC). Cutting the text is
    # exact; strftime() would round to milliseconds and could move 23:59:59.9996 into
    # the next day. The cut text sorts in time order; BucketText completes it.
    col = compiler.process(element.column, **kw)
    if element.unit == "hour":
        return f"substr({col}, 1, 13)"
    if element.unit == "day":
        return f"substr({col}, 1, 10)"
    if element.unit == "month":
        return f"substr({col}, 1, 7)"
    # 'weekday 0' moves to the next Sunday (or stays on one); six days back is Monday.
    return f"date(substr({col}, 1, 10), 'weekday 0', '-6 days')"


_SQLITE_BUCKET_TAIL = {
    "hour": ":00:00.000Z",
    "day": "T00:00:00.000Z",
    "week": "T00:00:00.000Z",
    "month": "-01T00:00:00.000Z",
}


@compiles(BucketText, "sqlite")
def _bucket_text_sqlite(element: BucketText, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.value, **kw)
    if element.unit == "hour":  # 'YYYY-MM-DD HH' -> 'YYYY-MM-DDTHH:00:00.000Z'
        return f"(substr({value}, 1, 10) || 'T' || substr({value}, 12, 2) || ':00:00.000Z')"
    return f"({value} || '{_SQLITE_BUCKET_TAIL[element.unit]}')"


@compiles(IsoTime, "sqlite")
def _iso_sqlite(element: IsoTime, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    return f"(substr({col}, 1, 10) || 'T' || substr({col}, 12, 12) || 'Z')"
