"""Shared fixtures: every storage and API test runs on SQLite and on PostgreSQL.

``--db sqlite|postgresql|all`` picks the engines (default: all). PostgreSQL is a
throwaway cluster the suite starts itself; each test gets a database cloned from a
template migrated once per session (a clone takes milliseconds, a migration does not).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from convoscope.app import create_app
from convoscope.auth import KeyType, display_prefix, generate_key, hash_key
from convoscope.settings import Settings
from convoscope.store import Database, Scope, make_engine
from convoscope.store import keys as key_store
from convoscope.store.migrate import upgrade
from tests.documented import checking_responses
from tests.pgcluster import (
    PostgresCluster,
    create_database,
    create_database_from_template,
    drop_database,
    find_pg_bindir,
)

DIALECTS = ("sqlite", "postgresql")
_TEMPLATE = "convoscope_template"
_counter = itertools.count()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql", "all"),
        default="all",
        help="which database engines the storage and API tests run on",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dialect" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--db")
        dialects: tuple[str, ...] = DIALECTS if chosen == "all" else (chosen,)
        if metafunc.definition.get_closest_marker("postgres_only"):
            dialects = tuple(d for d in dialects if d == "postgresql")
        metafunc.parametrize("dialect", dialects, indirect=True)


@pytest.fixture
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway cluster holding a migrated template database."""
    if find_pg_bindir() is None:
        pytest.fail("PostgreSQL server binaries not found: run `make test`, which installs them")
    # On tmpfs a template clone takes ~20 ms instead of ~300 ms; the data is throwaway.
    shm = Path("/dev/shm")
    with PostgresCluster(parent=shm if shm.is_dir() else None) as cluster:
        template_url = create_database(cluster.url, _TEMPLATE)
        engine = make_engine(template_url, pool_size=1)
        upgrade(engine)
        engine.dispose()
        yield cluster


@pytest.fixture(scope="session")
def postgres_server(postgres_cluster: PostgresCluster) -> str:
    """The URL of the throwaway cluster's maintenance database."""
    return postgres_cluster.url


@pytest.fixture
def database_url(dialect: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    if dialect == "sqlite":
        yield f"sqlite:///{tmp_path / 'convoscope.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    name = f"test_{next(_counter)}"
    url = create_database_from_template(server, name, _TEMPLATE)
    yield url
    drop_database(server, name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=2)
    upgrade(engine)  # a no-op on the migrated PostgreSQL clone
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Database]:
    """The database as the server sees it, its writer running for the test."""
    database = Database(engine)
    database.start()
    yield database
    database.writer.stop()


@dataclass(frozen=True)
class ProjectKeys:
    """A project and keys to reach it."""

    name: str
    scope: Scope
    api_key: str
    web_key: str


def make_project(engine: Engine, name: str) -> ProjectKeys:
    api_key, web_key = generate_key(), generate_key()
    with engine.begin() as conn:
        project = key_store.create_project(conn, name)
        api = key_store.create_key(
            conn, project, KeyType.API.value, hash_key(api_key), display_prefix(api_key)
        )
        key_store.create_key(
            conn, project, KeyType.WEB.value, hash_key(web_key), display_prefix(web_key)
        )
    scope = Scope(project.organization_id, project.id, api.integration_id)
    return ProjectKeys(name, scope, api_key, web_key)


@pytest.fixture
def project(engine: Engine) -> ProjectKeys:
    return make_project(engine, "acme")


@pytest.fixture
def other_project(engine: Engine) -> ProjectKeys:
    return make_project(engine, "globex")


@pytest.fixture
def settings(database_url: str) -> Settings:
    # The worker is tested on its own (tests/annotate/test_worker.py) by run_once().
    return Settings(database_url=database_url, key_cache_seconds=0, annotation_worker=False)


@pytest.fixture
async def app_client(settings: Settings, engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """An unauthenticated client on the app, in process, with its lifespan running."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        # Every answer is checked against the model its route documents.
        hooks = {"response": [checking_responses(app)]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://convoscope", event_hooks=hooks
        ) as c:
            yield c


@pytest.fixture
async def client(
    app_client: httpx.AsyncClient, project: ProjectKeys
) -> AsyncIterator[httpx.AsyncClient]:
    """A client authorized with the project's api key."""
    app_client.headers["Authorization"] = f"Bearer {project.api_key}"
    yield app_client


@dataclass(frozen=True)
class LiveServer:
    """A real uvicorn server on loopback, with keys of two projects."""

    url: str
    project: ProjectKeys
    other: ProjectKeys


@pytest.fixture
def live_server(settings: Settings, engine: Engine) -> Iterator[LiveServer]:
    import socket
    import threading
    import time

    import uvicorn

    project = make_project(engine, "acme")
    other = make_project(engine, "globex")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", project, other)
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture(scope="session")
def shared_analyzer() -> Any:
    """One offline analyzer for the session: loading it takes about a second."""
    from convoscope.annotate import OfflineAnalyzer

    return OfflineAnalyzer()
