"""Fixtures of the command-line tests."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine


@pytest.fixture
def env(database_url: str, engine: Engine) -> dict[str, str]:
    """The environment a command needs to reach the test's migrated database."""
    return {"CONVOSCOPE_DATABASE_URL": database_url}
