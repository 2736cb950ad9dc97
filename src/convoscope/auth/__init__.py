"""API keys and what each kind of key may do.

The names of ``__all__`` load their module on first use (``convoscope.lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convoscope.lazy import lazy_exports

if TYPE_CHECKING:
    from convoscope.auth.access import Caller, KeyType, require_read
    from convoscope.auth.dashboard import (
        COOKIE_SECRET,
        SESSION_COOKIE,
        SESSION_LIFETIME,
        LoginLimiter,
        Viewer,
        hash_password,
        hash_token,
        issue_link,
        new_token,
        sign,
        unsign,
        verify_password,
    )
    from convoscope.auth.keys import display_prefix, generate_key, hash_key
    from convoscope.auth.verify import KeyVerifier

__all__ = [
    "COOKIE_SECRET",
    "Caller",
    "KeyType",
    "KeyVerifier",
    "LoginLimiter",
    "SESSION_COOKIE",
    "SESSION_LIFETIME",
    "Viewer",
    "display_prefix",
    "generate_key",
    "hash_key",
    "hash_password",
    "hash_token",
    "issue_link",
    "new_token",
    "require_read",
    "sign",
    "unsign",
    "verify_password",
]

if not TYPE_CHECKING:
    __getattr__ = lazy_exports(
        __name__,
        {
            "access": ("Caller", "KeyType", "require_read"),
            "dashboard": (
                "COOKIE_SECRET",
                "SESSION_COOKIE",
                "SESSION_LIFETIME",
                "LoginLimiter",
                "Viewer",
                "hash_password",
                "hash_token",
                "issue_link",
                "new_token",
                "sign",
                "unsign",
                "verify_password",
            ),
            "keys": ("display_prefix", "generate_key", "hash_key"),
            "verify": ("KeyVerifier",),
        },
    )
