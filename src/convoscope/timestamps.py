"""ISO-8601 timestamps as the API takes them, read by the wire models and the query compiler."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

# The pattern of API.md §1.7, widened to any number of fraction digits (Python and
# PostgreSQL emit six) and to offsets without a colon.
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$"
)


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO-8601 date-time with a zone, as an aware UTC datetime; None stays None."""
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 date-time string such as 2025-03-01T09:30:00.000Z")
    if not _ISO_DATETIME.match(value):
        raise ValueError(
            "must be an ISO-8601 date-time with a time zone, such as "
            f"2025-03-01T09:30:00.000Z; got {value[:40]!r}"
        )
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    fraction = re.search(r"\.(\d+)", text)
    if fraction and len(fraction.group(1)) > 6:  # fromisoformat takes at most microseconds
        text = text.replace(fraction.group(0), "." + fraction.group(1)[:6], 1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"is not a valid date-time: {value[:40]!r}") from err
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+23:59 is in year 0 in UTC
        raise ValueError(
            f"is out of range once converted to UTC (years 1 to 9999): {value[:40]!r}"
        ) from None
