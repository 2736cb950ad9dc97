"""When and how long to wait before trying a request again.

Every write of the API is an upsert by id, and the client gives each body an id before
its first try, so a retry after a lost answer never logs anything twice.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

import httpx

__all__ = ["Retry"]

# 429 and 5xx are what the official SDK retries too (API.md §1.3); the server answers a
# client's own mistake with 4xx only, so retrying these never hides one.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# The jitter's own generator: drawing from the module-level one would move the
# application's random sequence (one it may have seeded) on every retry.
_JITTER = random.Random()


@dataclass(frozen=True)
class Retry:
    """Exponential backoff with full jitter, honouring ``Retry-After``.

    ``attempts`` counts every try (1 means no retry). The n-th wait is a random time up to
    ``min(max_wait, initial * 2**n)``; a ``Retry-After`` (seconds or HTTP date) replaces
    it, capped at ``max_wait``.
    """

    attempts: int = 4
    initial: float = 0.2
    max_wait: float = 10.0

    def wait(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = retry_after(response.headers.get("retry-after"))
            if after is not None:
                return min(after, self.max_wait)
        return _JITTER.uniform(0, min(self.max_wait, self.initial * 2**attempt))


NO_RETRY = Retry(attempts=1)


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, or None when it is absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
