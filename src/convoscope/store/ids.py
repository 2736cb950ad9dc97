"""Identifiers the server generates: a prefix and a time-ordered random part."""

from __future__ import annotations

import os
import time


def new_id(prefix: str) -> str:
    """``conv_0190f1c2a3b4…``: 48 bits of milliseconds then 80 random bits, like a ULID.

    Time first so that ids created together sit together in B-tree indexes. Hex rather
    than base32: Python's base32 encoder is pure Python and cost 6 µs an id.
    """
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{millis:012x}{int.from_bytes(os.urandom(10), 'big'):020x}"
