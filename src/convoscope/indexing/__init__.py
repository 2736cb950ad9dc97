"""JSON path indexes and the advisor that makes them after slow queries.

Above both the query compiler (whose field names and JSON expressions an index mirrors)
and the store (whose tables it indexes and whose writer builds it):

- ``path_indexes``: define, create, drop, list the indexes; ``path_columns`` for the compiler;
- ``advisor.PathAdvisor``: index (or advise) the paths of slow queries, once across processes;
- ``migrate``: the migrations with the indexes set aside and rebuilt.

The names of ``__all__`` load their module on first use (``convoscope.lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convoscope.lazy import lazy_exports

if TYPE_CHECKING:
    from convoscope.indexing.advisor import PathAdvisor
    from convoscope.indexing.migrate import RECOVERY_HINT, current_revision, upgrade
    from convoscope.indexing.path_indexes import PathIndex, PathIndexError, path_columns

__all__ = [
    "PathAdvisor",
    "PathIndex",
    "PathIndexError",
    "RECOVERY_HINT",
    "current_revision",
    "path_columns",
    "upgrade",
]

if not TYPE_CHECKING:
    __getattr__ = lazy_exports(
        __name__,
        {
            "advisor": ("PathAdvisor",),
            "migrate": ("RECOVERY_HINT", "current_revision", "upgrade"),
            "path_indexes": ("PathIndex", "PathIndexError", "path_columns"),
        },
    )
