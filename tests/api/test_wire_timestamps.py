"""Every time goes out as JavaScript's ``toISOString()`` writes it: UTC, milliseconds
truncated (not rounded), ``Z``; the SDK parses nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from convoscope.schemas import format_timestamp


def to_iso_string(value: datetime) -> str:
    """What ``new Date(value).toISOString()`` gives, spelled out field by field."""
    value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
        f"{value.minute:02d}:{value.second:02d}.{value.microsecond // 1000:03d}Z"
    )


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(datetime(2025, 3, 1, 9, 30, tzinfo=UTC), id="whole-seconds"),
        pytest.param(datetime(2025, 3, 1, 9, 30, 5, 999_999, tzinfo=UTC), id="truncated"),
        pytest.param(datetime(2025, 3, 1, 9, 30, 5, 1_000, tzinfo=UTC), id="one-millisecond"),
        pytest.param(datetime(2025, 3, 1, 9, 30, 5, 999, tzinfo=UTC), id="under-a-millisecond"),
        pytest.param(datetime(1, 1, 1, tzinfo=UTC), id="year-one"),
        pytest.param(datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC), id="three-digit-year"),
        pytest.param(datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), id="last"),
        pytest.param(
            datetime(2025, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))), id="other-zone"
        ),
        pytest.param(
            datetime(2025, 3, 1, 1, 30, tzinfo=timezone(timedelta(0))), id="another-utc-object"
        ),
    ],
)
def test_times_are_written_as_to_iso_string_writes_them(value: datetime) -> None:
    assert format_timestamp(value) == to_iso_string(value)
