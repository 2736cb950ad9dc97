"""``property_keys``: the top-level keys of the documents that are objects, whatever
else the column holds (arrays, strings that look like objects, scalars, nulls), on both
engines."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from convoscope.query import property_keys
from tests.query.test_differential import JSON, KEYS, PROJECT, conversation_row, store

# Documents of every JSON type, and strings whose text reads like an object.
DOCUMENTS = (
    st.none()
    | st.dictionaries(KEYS, JSON, max_size=4)
    | st.lists(JSON, max_size=3)
    | st.sampled_from(['{"a": 1}', "{", "", "{}", " {"])
    | st.integers(-2, 2)
    | st.booleans()
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(documents=st.lists(DOCUMENTS, max_size=8))
def test_keys_are_those_of_the_objects(engine: Engine, documents: list[Any]) -> None:
    store(engine, [conversation_row(f"k{i}", properties=d) for i, d in enumerate(documents)])
    with engine.connect() as conn:
        found = property_keys(conn, PROJECT, "properties", ["conversations_view"], None)
    expected = sorted({key for d in documents if isinstance(d, dict) for key in d})
    assert found == expected
