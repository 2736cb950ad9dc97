"""The throwaway PostgreSQL cluster starts, clones databases from a template, and leaves
nothing behind when it stops.

Skipped only when no PostgreSQL server binaries are installed.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.pgcluster import (
    ClusterError,
    PostgresCluster,
    create_database,
    create_database_from_template,
    drop_database,
    find_pg_bindir,
    to_conninfo,
)

pytestmark = pytest.mark.skipif(
    find_pg_bindir() is None,
    reason="PostgreSQL server binaries (pg_ctl, initdb, postgres) not found; "
    "install the PostgreSQL server or put its pg_config on PATH",
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    with PostgresCluster() as running:
        yield running


def test_find_pg_bindir_returns_a_directory_with_the_server_binaries() -> None:
    bindir = find_pg_bindir()
    assert bindir is not None
    assert sorted(
        p.name for p in bindir.iterdir() if p.name in {"initdb", "pg_ctl", "postgres"}
    ) == [
        "initdb",
        "pg_ctl",
        "postgres",
    ]


def test_cluster_url_names_the_superuser_on_localhost(cluster: PostgresCluster) -> None:
    assert cluster.url == f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres"


def test_cluster_answers_select_1_over_tcp(cluster: PostgresCluster) -> None:
    with psycopg.connect(to_conninfo(cluster.url)) as conn:
        assert conn.execute("select 1").fetchall() == [(1,)]
        assert conn.execute("show max_connections").fetchall() == [("200",)]
        assert conn.execute("show full_page_writes").fetchall() == [("off",)]


def test_database_cloned_from_template_holds_the_template_rows(cluster: PostgresCluster) -> None:
    template_url = create_database(cluster.url, "template_rows")
    with psycopg.connect(to_conninfo(template_url)) as conn:
        conn.execute("create table item (id int primary key, name text not null)")
        conn.execute("insert into item values (1, 'a'), (2, 'b')")

    clone_url = create_database_from_template(cluster.url, "clone_rows", "template_rows")

    assert clone_url == cluster.url.removesuffix("/postgres") + "/clone_rows"
    with psycopg.connect(to_conninfo(clone_url)) as conn:
        assert conn.execute("select id, name from item order by id").fetchall() == [
            (1, "a"),
            (2, "b"),
        ]
    # Left open on purpose: drop_database must end sessions still connected to the clone.
    leaked = psycopg.connect(to_conninfo(clone_url))
    try:
        drop_database(cluster.url, "clone_rows")
        drop_database(cluster.url, "template_rows")
    finally:
        leaked.close()
    with psycopg.connect(to_conninfo(cluster.url)) as conn:
        names = conn.execute(
            "select datname from pg_database where datname in ('clone_rows', 'template_rows')"
        ).fetchall()
    assert names == []


def test_stop_deletes_the_cluster_directory() -> None:
    with PostgresCluster() as cluster:
        directory = cluster.directory
        assert (directory / "data" / "PG_VERSION").is_file()
    assert not directory.exists()
    assert not cluster.is_running


def test_start_failure_raises_with_the_server_log() -> None:
    cluster = PostgresCluster(settings={"max_connections": "'many'"})
    with pytest.raises(ClusterError) as excinfo:
        cluster.start()
    message = str(excinfo.value)
    assert "pg_ctl start failed" in message
    assert 'invalid value for parameter "max_connections": "many"' in message
    assert not cluster.directory.exists()
