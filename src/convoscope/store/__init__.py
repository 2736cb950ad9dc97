"""Storage: tables, migrations, the write path and the repositories; rows and records only.

It imports nothing above it (the layers of ``pyproject.toml``'s import-linter contracts).

- ``database.Database``: reads on a bounded pool of threads, ``stream_analytics`` for
  exports, writes through ``writer.Writer`` (one thread, group commit);
- ``engine.make_engine``, ``migrate.upgrade``, ``tables`` (SQLAlchemy Core), ``records``
  (the dataclasses the repositories take and return);
- repositories: ``conversations``, ``feedback``, ``events``, ``threads`` (derived in the
  same transaction), ``annotations``, ``keys``, ``users``, ``privacy``, ``erasure``,
  ``transfer``, ``summaries``, ``distribution``;
- background upkeep: ``statistics.StatisticsUpkeep``, ``leases.Lease`` / ``Leased``.
"""
