"""Result rows with exactly the keys and types the SDK checks (API.md §4.7, §4.8, §5.5).

Each output column gets a ``Shaper`` when the query is compiled; turning a database row
into a wire row is then one call per column. A shaper returns ``OMIT`` to leave the key
out: declared number and string keys reject ``null``, so a NULL there is omitted, while
keys documented as nullable carry ``null``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import orjson

from convoscope.query.fields import Field, Kind, Resource

OMIT: Final = object()
Shaper = Callable[[Any], Any]

# Path-qualified keys the SDK declares as ``string | null`` (API.md §4.7.2).
_STRING_PATH_KEYS = frozenset(
    f"{field}.{key}"
    for field in ("properties", "userProperties")
    for key in ("userId", "supportAgentName")
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def number(value: Any) -> int | float:
    """Database numbers as JSON numbers: Decimal and integral floats become ints."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return float(value)


def epoch_millis(value: datetime) -> int:
    return (value.astimezone(UTC) - _EPOCH) // _MILLISECOND


_MILLISECOND = datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC) - _EPOCH


def stringify(value: Any) -> str:
    """A JSON value as a string: strings as they are, anything else as its JSON text."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _load(text: Any) -> Any:
    if text is None:
        return None
    if isinstance(text, str | bytes):
        return orjson.loads(text)
    return text  # a driver that already decoded it


def field_shaper(resource: Resource, field: Field) -> Shaper:
    """A base field's value, as the row schema of its resource types it."""
    null: Any = None if field.nullable else OMIT
    kind = field.kind
    if kind.is_json:
        if resource.string_valued_json and kind is Kind.OBJECT:

            def json_strings(value: Any) -> Any:
                loaded = _load(value)
                if loaded is None:
                    return null
                if isinstance(loaded, dict):
                    return {k: stringify(v) for k, v in loaded.items()}
                return loaded

            return json_strings

        def json_value(value: Any) -> Any:
            loaded = _load(value)
            return null if loaded is None else loaded

        return json_value
    if kind is Kind.NUMBER:
        return lambda value: null if value is None else number(value)
    if kind is Kind.BOOLEAN:
        return lambda value: null if value is None else bool(value)
    return lambda value: null if value is None else value


def path_shaper(key: str) -> Shaper:
    """The JSON value at a path; the four declared keys must be strings (or null)."""
    if key in _STRING_PATH_KEYS:
        return lambda value: None if value is None else stringify(_load(value))
    return _load


def aggregate_shaper(aggregation: str, field: Field | None, path: Sequence[str]) -> Shaper:
    if aggregation in {"count", "countDistinct"}:
        return lambda value: 0 if value is None else int(value)
    if field is not None and field.kind is Kind.TIME and not path:

        def millis(value: Any) -> Any:
            if value is None:
                return OMIT
            if isinstance(value, str):
                value = datetime.fromisoformat(value).replace(tzinfo=UTC)
            return epoch_millis(value)

        return millis
    return lambda value: OMIT if value is None else number(value)


def bucket_shaper(value: Any) -> Any:
    return OMIT if value is None else value


def shape_row(shapers: Sequence[tuple[str, Shaper]], row: Sequence[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for (key, shaper), value in zip(shapers, row, strict=False):
        shaped = shaper(value)
        if shaped is not OMIT:
            out[key] = shaped
    return out
