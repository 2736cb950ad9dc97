"""Indexes on JSON paths: queries give the same rows with and without them, read them
where they apply, and the indexes survive what happens to the schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, update

from convoscope.api import compile_on, parse_body
from convoscope.indexing import PathIndexError, migrate, path_indexes
from convoscope.query import CONVERSATIONS, compile_query, fetch_page, parse_query, property_values
from convoscope.schemas import QueryConversationsRequestBody
from convoscope.store.tables import conversations
from tests.query.test_differential import PROJECT, conversation_row, rows, store, unique_ids

U, P = "userProperties", "properties"
# Keys SQLite's path syntax spells, digit keys that also index arrays among them.
INDEXED = [
    (P, ["a"]),
    (P, ["a", "b"]),
    (P, [" 2"]),
    (U, ["0"]),
    (U, ["a.b"]),
    (U, ["-1"]),
]

HOSTILE: list[dict[str, Any]] = [
    {"id": "h1", "userProperties": {"company": "acme", "n": 3}},
    {"id": "h2", "userProperties": {"company": "Acme", "n": "3"}},
    {"id": "h3", "userProperties": {"company": None, "n": [1, {"x": None}]}},
    {"id": "h4", "userProperties": {"n": {"b": 1, "a": 2}}},
    {"id": "h5", "userProperties": None},
    {"id": "h6", "userProperties": {"company": "acme", "n": True}},
    {"id": "h7", "userProperties": {"company": "日本", "n": 1.5}},
]


def _rows(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        conversation_row(
            row["id"], properties=row.get("properties"), userProperties=row["userProperties"]
        )
        for row in data
    ]


def _run(engine: Engine, body: dict[str, Any], *, indexed: bool) -> list[dict[str, Any]]:
    query = parse_query(CONVERSATIONS, parse_body(QueryConversationsRequestBody, body))
    with engine.connect() as conn:
        if indexed:
            compiled = compile_on(conn, query, PROJECT, with_total=True)
        else:
            compiled = compile_query(query, project_id=PROJECT, with_total=True)
        rows, _total = fetch_page(conn, compiled)
    return rows


def _plan(engine: Engine, body: dict[str, Any]) -> str:
    query = parse_query(CONVERSATIONS, parse_body(QueryConversationsRequestBody, body))
    with engine.connect() as conn:
        statement = compile_on(conn, query, PROJECT).statement.compile(conn)
        if conn.dialect.name == "sqlite":
            found = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(statement), tuple(statement.params.values())
            )
            return "\n".join(str(row[-1]) for row in found)
        # The test tables are tiny: make the planner show whether it can use the index.
        conn.exec_driver_sql("SET enable_seqscan = off")
        found = conn.exec_driver_sql("EXPLAIN " + str(statement), statement.params)
        return "\n".join(row[0] for row in found)


def _serves(engine: Engine) -> bool:
    """Whether the company index serves the report: SQLite's plan reads it; PostgreSQL
    has gathered statistics on the path's values."""
    if engine.dialect.name == "sqlite":
        return COMPANY.index_name in _plan(engine, _by(U, ["company"]))
    with engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stats_ext_exprs WHERE statistics_name = %(name)s",
            {"name": COMPANY.statistics_name},
        )
        return bool(found.scalar())


def _by(field: str, path: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "select": [{"type": "aggregation", "aggregation": "count"}],
        "groupBy": [{"field": field, "path": path}],
        "orderBy": [
            {"field": "count", "direction": "desc"},
            {"field": f"{field}.{path[0]}", "direction": "asc"},
        ]
        if len(path) == 1
        else [{"field": "count", "direction": "desc"}],
        **extra,
    }


COMPANY = path_indexes.define("conversations", U, ["company"])


def test_grouping_by_an_indexed_path_reads_the_index(engine: Engine) -> None:
    store(engine, _rows(HOSTILE))
    before = _run(engine, _by(U, ["company"]), indexed=True)
    assert not _serves(engine)

    assert path_indexes.create(engine, COMPANY) is True

    assert _serves(engine)
    assert _run(engine, _by(U, ["company"]), indexed=True) == before
    assert before == [
        {"count": 3, "userProperties.company": None},
        {"count": 2, "userProperties.company": "acme"},
        {"count": 1, "userProperties.company": "Acme"},
        {"count": 1, "userProperties.company": "日本"},
    ]


def test_values_of_every_json_type_group_as_without_the_index(engine: Engine) -> None:
    store(engine, _rows(HOSTILE))
    index = path_indexes.define("conversations", U, ["n"])
    bodies = [
        _by(U, ["n"]),
        {
            "select": [
                {"type": "field", "field": "id"},
                {"type": "field", "field": U, "path": ["n"]},
            ],
            "orderBy": [{"field": "id", "direction": "asc"}],
        },  # fmt: skip
        {
            "select": [
                {"type": "aggregation", "aggregation": "countDistinct", "field": U, "path": ["n"]}
            ],  # fmt: skip
            "groupBy": [{"field": "type"}],
        },
    ]
    before = [_run(engine, body, indexed=True) for body in bodies]
    path_indexes.create(engine, index)
    assert [_run(engine, body, indexed=True) for body in bodies] == before
    assert len(before[0]) == 7  # 3 and "3" apart, the object, the array, null/absent …


def test_writes_after_the_index_are_counted(engine: Engine) -> None:
    path_indexes.create(engine, COMPANY)
    store(engine, _rows(HOSTILE))
    with engine.begin() as conn:
        conn.execute(
            update(conversations)
            .where(conversations.c.project_id == PROJECT, conversations.c.id == "h2")
            .values(user_properties={"company": "acme"})
        )
    top = _run(engine, _by(U, ["company"]), indexed=True)
    assert top[0]["count"] == 3 and {"count": 3, "userProperties.company": "acme"} in top
    assert top == _run(engine, _by(U, ["company"]), indexed=False)


def test_create_is_idempotent_and_drop_removes(engine: Engine) -> None:
    store(engine, _rows(HOSTILE))
    assert path_indexes.create(engine, COMPANY) is True
    assert path_indexes.create(engine, COMPANY) is False
    assert [i.label for i in path_indexes.list_indexes(engine)] == [
        "conversations.userProperties.company"
    ]
    assert path_indexes.drop(engine, COMPANY) is True
    assert path_indexes.drop(engine, COMPANY) is False
    assert path_indexes.list_indexes(engine) == []
    assert not _serves(engine)
    assert _run(engine, _by(U, ["company"]), indexed=True)[1]["count"] == 2


def test_a_missing_index_is_rebuilt_at_start(engine: Engine, dialect: str) -> None:
    store(engine, _rows(HOSTILE))
    path_indexes.create(engine, COMPANY)
    with engine.begin() as conn:
        # What a migration that rebuilds the table would leave.
        path_indexes.set_aside(conn, dialects=(dialect,))
    assert not _serves(engine)
    migrate.upgrade(engine)
    assert _serves(engine)
    assert _run(engine, _by(U, ["company"]), indexed=True)[1]["count"] == 2


def test_a_downgrade_past_the_catalog_takes_the_indexes_along(engine: Engine) -> None:
    store(engine, _rows(HOSTILE))
    path_indexes.create(engine, COMPANY)
    migrate.downgrade(engine, "0005")
    with engine.connect() as conn:
        assert COMPANY.schema_name(conn.dialect.name) not in path_indexes._present(conn)
        if conn.dialect.name == "sqlite":
            assert COMPANY.generated_column not in path_indexes._sqlite_columns(
                conn, "conversations"
            )
    migrate.upgrade(engine)
    assert path_indexes.list_indexes(engine) == []
    assert _run(engine, _by(U, ["company"]), indexed=True)[1]["count"] == 2


@pytest.mark.parametrize(
    ("resource", "field", "path", "message"),
    [
        ("messages", U, ["a"], "resource 'messages' cannot be indexed"),
        ("conversations", "type", ["a"], "field 'type' of conversations is not a JSON object"),
        ("conversations", U, [], "give the path"),
        ("conversations", U, ["k"] * 9, "at most 8 keys"),
        ("events", P, ["a\x00"], r"U\+0000"),
    ],
)
def test_paths_that_cannot_be_indexed_say_why(
    resource: str, field: str, path: list[str], message: str
) -> None:
    with pytest.raises(PathIndexError, match=message):
        path_indexes.define(resource, field, path)


def test_sqlite_refuses_keys_its_paths_cannot_spell(engine: Engine, dialect: str) -> None:
    index = path_indexes.define("feedback", P, ['q"t'])
    if dialect == "sqlite":
        with pytest.raises(PathIndexError, match="printable ASCII"):
            path_indexes.create(engine, index)
        assert path_indexes.list_indexes(engine) == []
    else:
        assert path_indexes.create(engine, index) is True


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=rows(), which=st.sampled_from(INDEXED), shape=st.sampled_from(["group", "select"]))
def test_indexed_paths_agree_with_the_json_on_generated_data(
    indexed_engine: Engine, data: list[dict[str, Any]], which: Any, shape: str
) -> None:
    field, path = which
    store(indexed_engine, unique_ids(data))
    if shape == "group":
        body = _by(field, path)
    else:
        body = {
            "select": [
                {"type": "field", "field": "id"},
                {"type": "field", "field": field, "path": path},
            ],
            "orderBy": [{"field": "id", "direction": "asc"}],
        }
    assert _run(indexed_engine, body, indexed=True) == _run(indexed_engine, body, indexed=False)


@pytest.fixture
def indexed_engine(engine: Engine) -> Engine:
    for field, path in INDEXED:
        path_indexes.create(engine, path_indexes.define("conversations", field, path))
    return engine


def _where(field: str, path: list[str], operator: str, value: Any) -> dict[str, Any]:
    return {
        "select": [{"type": "field", "field": "id"}],
        "where": {
            "condition": {
                "field": field,
                "operator": operator,
                "value": {"path": path, "value": value},
            }
        },
        "orderBy": [{"field": "id", "direction": "asc"}],
    }


def test_a_filter_on_an_indexed_path_looks_the_strings_up(engine: Engine, dialect: str) -> None:
    store(engine, _rows(HOSTILE))
    path_indexes.create(engine, COMPANY)
    assert _run(engine, _where(U, ["company"], "eq", "acme"), indexed=True) == [
        {"id": "h1"},
        {"id": "h6"},
    ]
    one_of = _where(U, ["company"], "in", ["Acme", "日本"])
    assert _run(engine, one_of, indexed=True) == [{"id": "h2"}, {"id": "h7"}]
    if dialect == "sqlite":
        plan = _plan(engine, _where(U, ["company"], "eq", "acme"))
        assert f"USING INDEX {COMPANY.index_name} (project_id=? AND" in plan


# Strings whose JSON spelling has escapes: the lookup must spell them as stored.
TRICKY = st.sampled_from(
    ["acme", "", 'q"t', "back\\slash", "a/b", "line\nbreak", "tab\t", "\x1f", "\x7f", "ü",
     "日本", "\u2028", "😀", "null", "3"]
)  # fmt: skip
VALUES = TRICKY | st.integers(-2, 2) | st.booleans() | st.none() | st.just({"x": "acme"})


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.lists(VALUES, min_size=1, max_size=8),
    wanted=st.lists(TRICKY, min_size=1, max_size=3),
    operator=st.sampled_from(["eq", "in"]),
)
def test_filters_on_indexed_paths_agree_with_the_json(
    indexed_engine: Engine, values: list[Any], wanted: list[str], operator: str
) -> None:
    data = [{"id": f"v{i}", "userProperties": {"0": v}} for i, v in enumerate(values)]
    store(indexed_engine, _rows(data))
    if operator == "eq":
        wanted = wanted[:1]
    body = _where(U, ["0"], operator, wanted[0] if operator == "eq" else wanted)
    expected = sorted(f"v{i}" for i, v in enumerate(values) if isinstance(v, str) and v in wanted)
    got = _run(indexed_engine, body, indexed=True)
    assert [row["id"] for row in got] == expected
    assert got == _run(indexed_engine, body, indexed=False)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=rows(),
    which=st.sampled_from([(f, p[0]) for f, p in INDEXED if len(p) == 1]),
    views=st.sampled_from([None, ["conversations_view"], ["conversations_view", "events_view"]]),
    where=st.sampled_from(
        [None, {"condition": {"field": "type", "operator": "eq", "value": "openai"}}]
    ),
)
def test_property_values_from_an_index_agree_with_the_json(
    indexed_engine: Engine,
    data: list[dict[str, Any]],
    which: tuple[str, str],
    views: list[str] | None,
    where: dict[str, Any] | None,
) -> None:
    field, key = which
    store(indexed_engine, unique_ids(data))
    with indexed_engine.connect() as conn:
        columns = path_indexes.path_columns(conn)
        plain = property_values(conn, PROJECT, field, key, views, where, 1000)
        indexed = property_values(conn, PROJECT, field, key, views, where, 1000, columns)
    assert indexed == plain


def test_property_values_read_the_index(engine: Engine, dialect: str) -> None:
    store(engine, _rows(HOSTILE))
    path_indexes.create(engine, COMPANY)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    with engine.connect() as conn:
        columns = path_indexes.path_columns(conn)
        values = property_values(conn, PROJECT, U, "company", None, None, 100, columns)
    assert values == ["acme", "Acme", "日本"]
    assert (COMPANY.generated_column in sent[-1]) == (dialect == "sqlite")


def test_a_key_that_reads_as_sql_is_only_a_key(engine: Engine) -> None:
    key = "x'); DROP TABLE conversations; --"
    store(
        engine,
        _rows([{"id": "s1", "userProperties": {key: "v"}}, {"id": "s2", "userProperties": {}}]),
    )
    before = _run(engine, _by(U, [key]), indexed=True)
    assert path_indexes.create(engine, path_indexes.define("conversations", U, [key])) is True
    assert _run(engine, _by(U, [key]), indexed=True) == before
    assert {"count": 1, f"userProperties.{key}": "v"} in before


# Object documents whose string members sit at indexed paths (properties a, a.b, " 2").
CONTAINED = st.recursive(
    TRICKY | st.integers(-1, 1) | st.none(),
    lambda inner: (
        st.dictionaries(st.sampled_from(["a", "b", " 2"]), inner, max_size=2)
        | st.lists(inner, max_size=2)
    ),
    max_leaves=4,
)


def _part_of(draw: Callable[[st.SearchStrategy[Any]], Any], value: Any) -> Any:
    """Some of ``value`` that it contains: a subset of an object's members, each cut
    down the same way, or the value itself."""
    if isinstance(value, dict):
        keys = draw(st.lists(st.sampled_from(sorted(value)), unique=True)) if value else []
        return {key: _part_of(draw, value[key]) for key in keys}
    return value


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stored=st.lists(CONTAINED, min_size=1, max_size=8),
    data=st.data(),
    at_a=st.booleans(),
)
def test_json_contains_on_indexed_paths_agrees_with_the_json(
    indexed_engine: Engine, stored: list[Any], data: st.DataObject, at_a: bool
) -> None:
    documents = [{"a": doc, " 2": doc} if i % 2 else doc for i, doc in enumerate(stored)]
    rows = [
        {"id": f"j{i}", "properties": d, "userProperties": None} for i, d in enumerate(documents)
    ]
    store(indexed_engine, _rows(rows))
    # Mostly part of a stored object, so that rows match; sometimes any object.
    objects: list[Any] = [d for d in documents if isinstance(d, dict) and d]
    source: Any
    if objects and data.draw(st.integers(0, 3)) > 0:
        source = data.draw(st.sampled_from(objects))
    else:
        source = data.draw(
            st.dictionaries(st.sampled_from(["a", "b", " 2"]), CONTAINED, min_size=1)
        )
    part = _part_of(data.draw, source)
    inner = part.get("a")
    # The same test one level down: the object at a, against the rows' a.
    value: Any = {"path": ["a"], "value": inner} if at_a and isinstance(inner, dict) else part
    body = {
        "select": [{"type": "field", "field": "id"}],
        "where": {"condition": {"field": P, "operator": "jsonContains", "value": value}},
        "orderBy": [{"field": "id", "direction": "asc"}],
    }
    assert _run(indexed_engine, body, indexed=True) == _run(indexed_engine, body, indexed=False)


def test_json_contains_looks_its_strings_up(engine: Engine, dialect: str) -> None:
    store(engine, _rows(HOSTILE))
    path_indexes.create(engine, COMPANY)
    body = {
        "select": [{"type": "field", "field": "id"}],
        "where": {
            "condition": {"field": U, "operator": "jsonContains", "value": {"company": "acme"}}
        },
        "orderBy": [{"field": "id", "direction": "asc"}],
    }
    assert _run(engine, body, indexed=True) == [{"id": "h1"}, {"id": "h6"}]
    if dialect == "sqlite":
        assert f"USING INDEX {COMPANY.index_name} (project_id=? AND" in _plan(engine, body)
