"""``property_values``: the database groups, counts, orders and cuts, and the answer is
the one a plain-Python count over the stored documents gives, on both engines."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert

from convoscope.query import property_values
from convoscope.store.tables import events
from tests.query import reference
from tests.query.test_differential import KEYS, PROJECT, conversation_row, rows, store, unique_ids

AT = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
SCALAR_VALUES = st.sampled_from(
    ["a", "b", "1", "true", "ü", 'q"t', "", "日本", "A"]
) | st.sampled_from([1, 3, -2, 1.5, True, False, None])


def expected(documents: list[Any], key: str, limit: int) -> list[str]:
    """What the endpoint promises: strings as they are, anything else as compact JSON."""
    counts: Counter[str] = Counter()
    for document in documents:
        value = reference.at_path(document, [key])
        if value is reference._MISSING or value is None:
            continue
        counts[value if isinstance(value, str) else orjson.dumps(value).decode()] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [value for value, _ in ranked[:limit]]


def values(engine: Engine, key: str, limit: int, **kw: Any) -> list[str]:
    with engine.connect() as conn:
        return property_values(
            conn,
            PROJECT,
            kw.get("field", "properties"),
            key,
            kw.get("views", ["conversations_view"]),
            kw.get("where"),
            limit,
        )


def jsonb_order(value: Any) -> Any:
    """A document with its object keys in JSONB's order: shorter keys first, then bytes."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: jsonb_order(value[k]) for k in keys}
    if isinstance(value, list):
        return [jsonb_order(v) for v in value]
    return value


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=rows(), key=KEYS)
def test_values_agree_with_a_count_in_python(
    engine: Engine, data: list[dict[str, Any]], key: str
) -> None:
    data = unique_ids(data)
    store(engine, data)
    documents = [row["properties"] for row in data]
    if engine.dialect.name == "postgresql":
        # JSONB keeps one copy of each key, in its own order: objects come back so.
        documents = [jsonb_order(d) for d in documents]
    assert values(engine, key, 1000) == expected(documents, key, 1000)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plans=st.lists(SCALAR_VALUES, max_size=12),
    limit=st.integers(1, 4),
)
def test_the_limit_cuts_the_ranking_in_the_database(
    engine: Engine, plans: list[Any], limit: int
) -> None:
    data = [conversation_row(f"c{i}", properties={"plan": plan}) for i, plan in enumerate(plans)]
    store(engine, data)
    documents = [row["properties"] for row in data]
    assert values(engine, "plan", limit) == expected(documents, "plan", limit)


@pytest.fixture
def mixed(engine: Engine) -> Engine:
    plans: list[Any] = ["pro", "pro", 3, "3", {"tier": 1}, [1, 2], "free", None, True, 1.5]
    data = [
        conversation_row(
            f"c{i}", properties={"plan": plan}, userProperties={"id": i}, userMessageCount=i
        )
        for i, plan in enumerate(plans)
    ]
    store(engine, data)
    with engine.begin() as conn:
        conn.execute(delete(events))
        conn.execute(
            insert(events),
            [
                {
                    "project_id": project,
                    "id": f"e{i}",
                    "entity_type": "search",
                    "type": "search_query_submitted",
                    "organization_id": "o",
                    "properties": {"plan": plan},
                    "created_at": AT,
                }
                for i, plan in enumerate(["free", "free", "free", 3])
                for project in (PROJECT, "p_other")
            ],
        )
    return engine


def test_numbers_and_strings_that_read_alike_count_together(mixed: Engine) -> None:
    assert values(mixed, "plan", 100) == [
        "3",
        "pro",
        "1.5",
        "[1,2]",
        "free",
        "true",
        '{"tier":1}',
    ]


def test_views_add_up_before_the_cut(mixed: Engine) -> None:
    views = ["conversations_view", "events_view"]
    # free: 1 conversation + 3 events; 3: 2 conversations + 1 event.
    assert values(mixed, "plan", 2, views=views) == ["free", "3"]
    assert values(mixed, "plan", 1, views=["events_view"]) == ["free"]


def test_where_restricts_the_rows_counted(mixed: Engine) -> None:
    where = {"condition": {"field": "userMessageCount", "operator": "lt", "value": 3}}
    assert values(mixed, "plan", 100, where=where) == ["pro", "3"]


def test_other_keys_and_fields(mixed: Engine) -> None:
    assert values(mixed, "absent", 100) == []
    assert values(mixed, "id", 3, field="userProperties") == ["0", "1", "2"]
