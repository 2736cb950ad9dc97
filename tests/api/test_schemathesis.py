"""Schemathesis over every operation of the OpenAPI document, against a real server.

Requests are generated from the document (valid ones and ones that break it) and sent
with an api key and a dashboard session to a uvicorn server holding a little of every
kind of data. Every answer must be something other than a 5xx, with a status, content
type, headers and body the document lists for that operation.

``make test`` runs a few generated requests an operation from a fixed seed. The long run
adds schemathesis's coverage phase (boundary values, missing and wrong-typed fields, for
each parameter) and as many generated requests an operation as asked, from any seed::

    FUZZ_EXAMPLES=1000 FUZZ_SEED=7 python -m pytest tests/api/test_schemathesis.py
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, seed, settings
from schemathesis import Case
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from convoscope.app import create_app
from convoscope.auth import issue_link
from convoscope.settings import Settings
from convoscope.store import make_engine
from convoscope.store import users as user_store
from convoscope.store.migrate import upgrade
from tests.builders import openai_conversation, support_conversation
from tests.conftest import _TEMPLATE, DIALECTS, make_project
from tests.pgcluster import create_database_from_template, drop_database

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# OTLP's protobuf body goes out as the bytes drawn for it (the intake answers 400 to most).
schemathesis.serializer.alias("application/x-protobuf", "application/octet-stream")
LONG_RUN = int(os.environ.get("FUZZ_EXAMPLES", "0"))
EXAMPLES = LONG_RUN or 8
SEED = int(os.environ.get("FUZZ_SEED", "11"))
if LONG_RUN:
    pytestmark = pytest.mark.timeout(0)

# The committed document is the served one (tests/test_openapi.py keeps them equal).
schema = schemathesis.openapi.from_dict(
    json.loads(DOCUMENT.read_text(encoding="utf-8")),
    config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": bool(LONG_RUN)}}}),
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # One server per engine for the whole module, not one per operation.
    if "fuzzed" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--db")
        engines = DIALECTS if chosen == "all" else (chosen,)
        metafunc.parametrize("fuzzed", engines, indirect=True, scope="module")


@dataclass(frozen=True)
class Fuzzed:
    """A server with data in one project, and a session that reaches all of it."""

    url: str
    session: requests.Session


@pytest.fixture(scope="module")
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    with _database(request, tmp_path_factory) as url:
        engine = make_engine(url, pool_size=1)
        upgrade(engine)
        keys = make_project(engine, "acme")
        link = _dashboard_link(engine, keys.scope.project_id)
        settings = Settings(database_url=url, key_cache_seconds=0, annotation_worker=False)
        with _serving(settings) as base:
            _seed(base, keys.api_key)
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {keys.api_key}"
            signed_in = session.get(base + link, allow_redirects=False)
            assert signed_in.status_code == 303, signed_in.text
            yield Fuzzed(base, session)
            session.close()
        engine.dispose()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@seed(SEED)
def test_every_answer_is_documented_and_none_is_a_5xx(case: Case[Any], fuzzed: Fuzzed) -> None:
    case.call_and_validate(base_url=fuzzed.url, session=fuzzed.session, checks=CHECKS)


class _database:
    """A fresh migrated database of the engine the module runs on, dropped after."""

    def __init__(self, request: pytest.FixtureRequest, paths: pytest.TempPathFactory) -> None:
        self.request, self.paths = request, paths
        self.drop: Callable[[], None] = lambda: None

    def __enter__(self) -> str:
        if self.request.param == "sqlite":
            return f"sqlite:///{self.paths.mktemp('fuzz') / 'convoscope.db'}"
        server: str = self.request.getfixturevalue("postgres_server")
        name = "fuzz_openapi"
        self.drop = lambda: drop_database(server, name)
        return create_database_from_template(server, name, _TEMPLATE)

    def __exit__(self, *exc: object) -> None:
        self.drop()


def _dashboard_link(engine: Engine, project_id: str) -> str:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        user = user_store.create_user(conn, "fuzz@example.com", now=now)
        user_store.set_membership(conn, project_id, user.id, "admin", now=now)
        return issue_link(conn, user, "http://convoscope", now=now).removeprefix(
            "http://convoscope"
        )


class _serving:
    """uvicorn on loopback in a thread; its base URL."""

    def __init__(self, settings: Settings) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "no server"
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def _seed(base: str, api_key: str) -> None:
    """A little of everything, so list, query and dashboard answers carry rows to check."""
    at = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {api_key}"}) as client:
        bodies: list[dict[str, Any]] = [
            openai_conversation(
                "c1",
                turns=2,
                createdAt=at,
                externalId="e1",
                properties={"plan": "pro", "n": 3},
                userProperties={"id": "u1", "email": "u1@example.com"},
            ),
            support_conversation("c2", createdAt=at, tags=["billing"]),
        ]
        for body in bodies:
            client.post("/conversations", json=body).raise_for_status()
        message_id = client.get("/conversations/c1").json()["messages"][1]["id"]
        for kind in ("positive", "negative"):
            feedback = {
                "type": kind,
                "messageId": message_id,
                "reasons": [{"label": "x", "details": "y"}],
            }
            client.post("/feedback", json=feedback).raise_for_status()
        event = {
            "entityType": "search",
            "type": "search",
            "searchQuery": "keys",
            "userProperties": {"id": "u1"},
        }
        client.post("/events", json=event).raise_for_status()
