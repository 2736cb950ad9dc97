"""The migrations as the server and the CLI run them: with the path indexes set aside
before and built again after (``path_indexes.set_aside`` and ``reconcile``), since a
migration may rebuild a table and SQLite would not carry a generated column over."""

from __future__ import annotations

from sqlalchemy import Engine

from convoscope.indexing import path_indexes
from convoscope.store import migrate
from convoscope.store.migrate import RECOVERY_HINT, current_revision, head_revision

__all__ = ["RECOVERY_HINT", "current_revision", "downgrade", "head_revision", "upgrade"]


def upgrade(engine: Engine, revision: str = "head") -> None:
    migrate.upgrade(engine, revision, extras=path_indexes)


def downgrade(engine: Engine, revision: str) -> None:
    migrate.downgrade(engine, revision, extras=path_indexes)
