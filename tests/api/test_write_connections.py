"""``CONVOSCOPE_WRITE_CONNECTIONS``: the writer threads a server process runs."""

from __future__ import annotations

import pytest

from convoscope.app import create_app
from convoscope.settings import Settings


@pytest.mark.parametrize("connections", [1, 3])
async def test_the_server_s_writer_runs_the_connections_set_on_postgresql_one_on_sqlite(
    settings: Settings, dialect: str, connections: int
) -> None:
    app = create_app(settings.model_copy(update={"write_connections": connections}))
    async with app.router.lifespan_context(app):
        writer = app.state.db.writer
        assert writer.connections == (connections if dialect == "postgresql" else 1)


def test_two_writer_connections_by_default() -> None:
    assert Settings(database_url="sqlite:///unused.db").write_connections == 2
