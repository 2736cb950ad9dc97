"""After a slow query over unindexed JSON paths the server indexes them, within its
limits, or logs the command that would."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from convoscope.api import parse_body
from convoscope.indexing import PathAdvisor, path_indexes
from convoscope.indexing.advisor import Paths
from convoscope.query import CONVERSATIONS, parse_query
from convoscope.schemas import QueryConversationsRequestBody
from convoscope.store import Database
from tests.indexing.test_path_indexes import COMPANY, HOSTILE, U, _rows
from tests.query.test_differential import store

COMPANY_PATH: Paths = [(U, ("company",))]
LOGGER = "convoscope.indexing.advisor"


@pytest.fixture
def db(db: Database) -> Database:
    """The shared database fixture, holding the hostile rows of test_path_indexes."""
    store(db.engine, _rows(HOSTILE))
    return db


async def _after_slow_query(advisor: PathAdvisor, paths: Paths) -> None:
    with advisor.db.engine.connect() as conn:
        wanted = advisor.wanted(conn, "conversations", paths, 0.9)
    advisor.act(wanted, 0.9)
    await advisor.settle()


def _made(engine: Engine) -> list[tuple[str, str]]:
    return [(i.label, i.created_by) for i in path_indexes.list_indexes(engine)]


async def test_a_slow_path_is_indexed_once(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    advisor = PathAdvisor(db, auto=True)
    with db.engine.connect() as conn:
        assert advisor.wanted(conn, "conversations", COMPANY_PATH, 0.1) == []
    with caplog.at_level("WARNING", logger=LOGGER):
        await _after_slow_query(advisor, [*COMPANY_PATH, *COMPANY_PATH])
    assert _made(db.engine) == [("conversations.userProperties.company", "server")]
    assert (
        "indexed conversations.userProperties.company, after a query over it took 0.9 s; "
        "`convoscope indexes drop conversations userProperties company` removes the index"
    ) in caplog.text
    with db.engine.connect() as conn:
        assert advisor.wanted(conn, "conversations", COMPANY_PATH, 0.9) == []


async def test_a_build_that_finds_the_index_made_says_nothing(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = PathAdvisor(db, auto=True), PathAdvisor(db, auto=True)
    with db.engine.connect() as conn:
        # Both decide before either has built: two queries on two reader threads.
        wanted = [a.wanted(conn, "conversations", COMPANY_PATH, 0.9) for a in (first, second)]
    with caplog.at_level("WARNING", logger=LOGGER):
        for advisor, indexes in zip((first, second), wanted, strict=True):
            advisor.act(indexes, 0.9)
            await advisor.settle()
    assert caplog.text.count("indexed conversations.userProperties.company") == 1
    assert "would speed it up" not in caplog.text


async def test_without_auto_index_the_command_is_logged(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    advisor = PathAdvisor(db, auto=False)
    paths = [(U, ("company",)), ("properties", ("a b", "c"))]
    with caplog.at_level("WARNING", logger=LOGGER):
        await _after_slow_query(advisor, paths)
        await _after_slow_query(advisor, paths)
    assert _made(db.engine) == []
    assert caplog.text.count("would speed it up") == 2
    assert "`convoscope indexes create conversations properties 'a b' c`" in caplog.text


async def test_the_server_keeps_to_its_limits(
    db: Database, dialect: str, caplog: pytest.LogCaptureFixture
) -> None:
    advisor = PathAdvisor(db, auto=True, max_rows=3, per_table=1)
    with caplog.at_level("WARNING", logger=LOGGER):
        await _after_slow_query(advisor, [(U, ("company",)), (U, ("n",))])
    if dialect == "sqlite":
        # 14 rows (the test's two projects) are more than 3.
        assert _made(db.engine) == []
        assert "conversations holds 14 rows, and SQLite's writes would wait" in caplog.text
    else:
        assert _made(db.engine) == [("conversations.userProperties.company", "server")]
        assert "the server has made 1 indexes on conversations already" in caplog.text


async def test_a_path_the_operator_dropped_is_not_made_again(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    path_indexes.create(db.engine, COMPANY)
    assert path_indexes.drop(db.engine, COMPANY) is True
    with caplog.at_level("WARNING", logger=LOGGER):
        await _after_slow_query(PathAdvisor(db, auto=True), COMPANY_PATH)
    assert _made(db.engine) == []
    assert "not made by the server: the operator dropped it" in caplog.text
    # The operator may make it again.
    assert path_indexes.create(db.engine, COMPANY) is True
    assert _made(db.engine) == [("conversations.userProperties.company", "operator")]


def _at(field: str, operator: str, path: list[str], value: object) -> dict[str, object]:
    return {"condition": {"field": field, "operator": operator,
                          "value": {"path": path, "value": value}}}  # fmt: skip


def test_the_paths_an_index_would_serve() -> None:
    body = {
        "select": [
            {"type": "aggregation", "aggregation": "countDistinct", "field": U, "path": ["id"]},
        ],
        "groupBy": [{"field": U, "path": ["company"]}],
        "where": {
            "and": [
                _at(U, "eq", ["plan"], "pro"),
                {
                    "or": [
                        _at("properties", "in", ["a", "b"], ["x", "y"]),
                        _at(U, "gt", ["n"], "1"),  # an index cannot serve gt
                        _at(U, "eq", ["k"], 1),  # nor a number, spelled many ways
                    ]
                },
                {
                    "condition": {
                        "field": "properties",
                        "operator": "jsonContains",
                        "value": {"plan": "pro", "n": 1, "deep": {"er": "x"}},
                    }
                },
            ]
        },
    }
    query = parse_query(CONVERSATIONS, parse_body(QueryConversationsRequestBody, body))
    assert sorted(query.json_paths()) == [
        ("properties", ("a", "b")),
        ("properties", ("deep", "er")),
        ("properties", ("plan",)),
        (U, ("company",)),
        (U, ("id",)),
        (U, ("plan",)),
    ]


async def test_a_leased_advisor_builds_only_while_it_holds_the_lease(db: Database) -> None:
    advisor = PathAdvisor(db, auto=True, leased=True)
    await _after_slow_query(advisor, COMPANY_PATH)
    assert _made(db.engine) == [], "another process may hold the lease: the path waits"
    async with advisor.builds():
        await advisor.settle()
        assert _made(db.engine) == [("conversations.userProperties.company", "server")]
