"""Column types declared once for both dialects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# None is stored as SQL NULL, not as the JSON literal null, so `IS NULL` means "absent".
JsonDoc = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
BigId = Integer().with_variant(BigInteger(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both engines.

    SQLite has no time zone type: values go in converted to UTC and come back naive,
    so they are tagged as UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database layer")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # On SQLite the value is text, "2026-03-01 10:30:15.123456", exactly as SQLAlchemy's
    # DATETIME writes it; but its processors (a %-format one way, a regex the other,
    # stacked under the two above) cost several µs a value, and a logged conversation
    # stores about twenty. datetime's own C isoformat/fromisoformat do the same in one
    # call each.
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_text

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _sqlite_datetime


# The texts of recent datetimes, and the other way. A write stores the same few instants
# many times (its clock reading in every row's logged and updated time, a message's time
# in its thread's), and a chat app's every turn reads the creation time of every message
# of its history again: a cache hit costs about 0.05 µs against the 1 µs of formatting.
# Aware datetimes are equal exactly when they are the same instant, which is what the
# text says, so a key in another zone finds the right text.
_KEPT = 4096


def _sqlite_text(value: datetime | None) -> str | None:
    return None if value is None else _format(value)


@lru_cache(maxsize=_KEPT)
def _format(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("naive datetime reached the database layer")
    if offset:
        value = value.astimezone(UTC)
    # "2026-03-01 10:30:15.123456+00:00" without its offset: dropping the zone with
    # replace(tzinfo=None) first cost as much again (about 20 datetimes a conversation).
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_datetime(value: str | None) -> datetime | None:
    return None if value is None else _parse(value)


@lru_cache(maxsize=_KEPT)
def _parse(value: str) -> datetime:
    if len(value) == 26:  # as _format writes it
        # Parsed with its zone: 0.13 µs, where parsing then replace(tzinfo=UTC) took
        # 0.74 µs.
        return datetime.fromisoformat(value + "+00:00")
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
