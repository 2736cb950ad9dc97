"""Analytics reads go to a real streaming replica; writes and reads of them to the primary."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import psycopg
import pytest
from sqlalchemy import Engine

from convoscope.app import create_app
from convoscope.settings import Settings
from tests.conftest import make_project
from tests.pgcluster import PostgresCluster, PostgresStandby, database_url, to_conninfo

pytestmark = pytest.mark.postgres_only

COUNT = {"select": [{"type": "aggregation", "aggregation": "count"}]}


@pytest.fixture(scope="module")
def standby(postgres_cluster: PostgresCluster) -> Iterator[PostgresStandby]:
    replica = PostgresStandby(postgres_cluster)
    replica.start()
    yield replica
    replica.stop()


@pytest.fixture
def replica_conninfo(standby: PostgresStandby, database_url: str) -> Iterator[str]:
    conninfo = to_conninfo(database_url_on(standby, database_url))
    deadline = time.monotonic() + 30
    while True:  # the new database reaches the standby with the WAL
        try:
            psycopg.connect(conninfo).close()
            break
        except psycopg.OperationalError:
            assert time.monotonic() < deadline, "the database never reached the standby"
            time.sleep(0.05)
    yield conninfo
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_resume()")


def database_url_on(server: PostgresCluster, url: str) -> str:
    name = url.rsplit("/", 1)[1]
    return database_url(server.url, name)


@pytest.fixture
async def replica_client(
    database_url: str, standby: PostgresStandby, engine: Engine, replica_conninfo: str
) -> AsyncIterator[httpx.AsyncClient]:
    keys = make_project(engine, "acme")
    settings = Settings(
        database_url=database_url,
        read_database_url=database_url_on(standby, database_url),
        key_cache_seconds=0,
        annotation_worker=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://convoscope",
            headers={"Authorization": f"Bearer {keys.api_key}"},
        ) as client:
            yield client


async def _counted(client: httpx.AsyncClient) -> int:
    response = await client.post("/query/conversations", json=COUNT)
    assert response.status_code == 200, response.text
    return int(response.json()["data"]["result"][0]["count"])


async def _until_counted(client: httpx.AsyncClient, expected: int) -> None:
    deadline = time.monotonic() + 30
    while await _counted(client) != expected:
        assert time.monotonic() < deadline, "the replica did not catch up"
        await asyncio.sleep(0.05)


def _conversation(id: str) -> dict[str, object]:
    return {"id": id, "type": "openai", "messages": [{"role": "user", "content": "hello"}]}


async def test_queries_and_exports_read_the_replica_and_a_log_reads_back_from_the_primary(
    replica_client: httpx.AsyncClient, replica_conninfo: str
) -> None:
    assert (await replica_client.post("/conversations", json=_conversation("c1"))).is_success
    await _until_counted(replica_client, 1)

    with psycopg.connect(replica_conninfo, autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
    logged = await replica_client.post("/conversations", json=_conversation("c2"))
    assert logged.status_code == 200 and logged.json()["id"] == "c2"
    # What a client just wrote, it reads back at once: gets and lists use the primary.
    assert (await replica_client.get("/conversations/c2")).status_code == 200
    assert (await replica_client.get("/conversations")).json()["total"] == 2
    # The analytics reads come from the replica, held back at the first conversation.
    assert await _counted(replica_client) == 1
    export = await replica_client.post("/query/conversations/export", json=COUNT)
    assert export.status_code == 200
    assert export.text.splitlines()[1:] == ["1"]

    with psycopg.connect(replica_conninfo, autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_resume()")
    await _until_counted(replica_client, 2)
