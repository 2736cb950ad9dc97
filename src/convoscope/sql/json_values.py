"""JSON values the databases can store and query the same way, checked where they enter.

Python's JSON parser (FastAPI's) accepts what neither database can take: integers of any
size (SQLite binds at most 64 bits; each was a 500), ``NaN`` and ``Infinity`` (stored as
``null``), lone UTF-16 surrogates such as ``"\\ud800"`` (no UTF-8 spelling) and U+0000
(PostgreSQL refuses it in text and JSON). Each is refused with the field it sits in.
"""

from __future__ import annotations

import math
from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def unstorable_number(value: Any) -> str | None:
    """Why a number cannot be stored, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        shown = str(value)
        shown = shown if len(shown) <= 30 else shown[:27] + "..."
        return f"integers must fit in 64 bits ({INT64_MIN} to {INT64_MAX}); got {shown}"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN and Infinity are not JSON numbers; send a number, a string or null"
    return None


def unstorable_text(text: str) -> str | None:
    """Why a string cannot be stored, or None."""
    if "\x00" in text:
        return "text cannot contain the character U+0000 (NUL)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return (
            "text cannot contain a lone UTF-16 surrogate (such as \\ud800 without its "
            "pair): it has no UTF-8 form"
        )
    return None


def first_unstorable(value: Any, path: str = "") -> tuple[str, str] | None:
    """(path, reason) of the first value or key in ``value`` that cannot be stored.

    The path is spelled as errors name fields (``properties.tags[2]``); a bad key is
    named with its bad characters escaped, so the error itself can be sent as JSON.
    """
    if isinstance(value, str):
        reason = unstorable_text(value)
        return None if reason is None else (path, reason)
    if isinstance(value, dict):
        for key, item in value.items():
            key_reason = unstorable_text(key)
            inner = f"{path}.{_printable(key)}" if path else _printable(key)
            if key_reason is not None:
                return inner, key_reason.replace("text", "a key", 1)
            found = first_unstorable(item, inner)
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = first_unstorable(item, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    reason = unstorable_number(value)
    return None if reason is None else (path, reason)


def check_document(value: Any) -> Any:
    """A pydantic validator: refuse a JSON document holding an unstorable value."""
    found = first_unstorable(value)
    if found is not None:
        where, reason = found
        raise ValueError(f"{reason} (at {where})" if where else reason)
    return value


def _printable(key: str) -> str:
    return key.replace("\x00", "").encode("utf-8", "backslashreplace").decode("utf-8")
