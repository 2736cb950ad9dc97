"""Data protection above the store: forgetting a user, retention, and a project's settings
as the API, the CLI and the dashboard change them.

The names of ``__all__`` load their module on first use (``convoscope.lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convoscope.lazy import lazy_exports

if TYPE_CHECKING:
    from convoscope.privacy.forget import forget_now
    from convoscope.privacy.redact import redact_stored, totals
    from convoscope.privacy.retention import RetentionJob, run_retention_now
    from convoscope.privacy.settings import read_privacy, replace_privacy

__all__ = [
    "RetentionJob",
    "forget_now",
    "read_privacy",
    "redact_stored",
    "replace_privacy",
    "run_retention_now",
    "totals",
]

if not TYPE_CHECKING:
    __getattr__ = lazy_exports(
        __name__,
        {
            "forget": ("forget_now",),
            "redact": ("redact_stored", "totals"),
            "retention": ("RetentionJob", "run_retention_now"),
            "settings": ("read_privacy", "replace_privacy"),
        },
    )
