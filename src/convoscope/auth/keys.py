"""Generating, hashing and parsing API keys.

Keys are 32 random bytes, so a plain SHA-256 is enough to store them: there is nothing
to brute-force, and a hash lookup keeps authentication to one indexed read.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "cvs_"


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """The part of a key that may be shown again, to tell keys apart."""
    return key[: len(KEY_PREFIX) + 6]


def parse_authorization(header: str | None) -> str | None:
    """The key from ``Authorization: Bearer <key>`` (scheme case-insensitive), or None."""
    if not header:
        return None
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    key = key.strip()
    return key or None
