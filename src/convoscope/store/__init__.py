"""Storage: tables, migrations, the write path and the repositories; rows and records only.

It imports nothing above it (the layers of ``pyproject.toml``'s import-linter contracts).

- ``database.Database``: reads on a bounded pool of threads, ``stream_analytics`` for
  exports, writes through ``writer.Writer`` (group commit; one thread on SQLite,
  ``CONVOSCOPE_WRITE_CONNECTIONS`` on PostgreSQL);
- ``engine.make_engine``, ``migrate.upgrade``, ``tables`` (SQLAlchemy Core), ``records``
  (the dataclasses the repositories take and return);
- repositories: ``conversations``, ``feedback``, ``events``, ``threads`` (derived in the
  same transaction), ``annotations``, ``keys``, ``users``, ``privacy``, ``erasure``,
  ``transfer``, ``summaries``, ``distribution``;
- background upkeep: ``statistics.StatisticsUpkeep``, ``leases.Lease`` / ``Leased``.

What other packages use is named in ``__all__`` (``from convoscope.store import
Database, Scope``) and loads on first use, so importing the package loads no SQLAlchemy;
the repositories are its modules (``from convoscope.store import keys``).
"""

# No ``from __future__ import annotations`` here: it would bind the name ``annotations``,
# which is the repository module ``convoscope.store.annotations``.
from typing import TYPE_CHECKING

from convoscope.lazy import lazy_exports

if TYPE_CHECKING:
    from convoscope.store.database import Database
    from convoscope.store.engine import Dialect, dialect_of, make_engine, writer_connection
    from convoscope.store.ids import new_id
    from convoscope.store.leases import Lease, Leased
    from convoscope.store.records import (
        KEPT_WHEN_OMITTED,
        Conversation,
        ConversationIn,
        Event,
        EventIn,
        Feedback,
        FeedbackIn,
        Message,
        MessageIn,
        Scope,
        VerifiedFields,
    )
    from convoscope.store.statistics import StatisticsUpkeep
    from convoscope.store.users import Membership, User
    from convoscope.store.writer import Writer

__all__ = [
    "Conversation",
    "ConversationIn",
    "Database",
    "Dialect",
    "Event",
    "EventIn",
    "Feedback",
    "FeedbackIn",
    "KEPT_WHEN_OMITTED",
    "Lease",
    "Leased",
    "Membership",
    "Message",
    "MessageIn",
    "Scope",
    "StatisticsUpkeep",
    "User",
    "VerifiedFields",
    "Writer",
    "dialect_of",
    "make_engine",
    "new_id",
    "writer_connection",
]

if not TYPE_CHECKING:
    __getattr__ = lazy_exports(
        __name__,
        {
            "database": ("Database",),
            "engine": ("Dialect", "dialect_of", "make_engine", "writer_connection"),
            "ids": ("new_id",),
            "leases": ("Lease", "Leased"),
            "records": (
                "KEPT_WHEN_OMITTED",
                "Conversation",
                "ConversationIn",
                "Event",
                "EventIn",
                "Feedback",
                "FeedbackIn",
                "Message",
                "MessageIn",
                "Scope",
                "VerifiedFields",
            ),
            "statistics": ("StatisticsUpkeep",),
            "users": ("Membership", "User"),
            "writer": ("Writer",),
        },
    )
