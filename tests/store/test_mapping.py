"""Row mappers carry every field to its column and back, and refuse a record and a table
that do not match, at the moment they are made."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Computed, Integer, MetaData, String, Table

from convoscope.store import Event, Feedback
from convoscope.store.mapping import RowMapper
from convoscope.store.tables import events, feedback

_metadata = MetaData()
_items = Table(
    "items",
    _metadata,
    Column("project_id", String, primary_key=True),
    Column("id", String, primary_key=True),
    Column("size", Integer),
    Column("double", Integer, Computed("size * 2")),
)


@dataclass
class _Item:
    id: str
    size: int | None = None
    parts: list[str] = field(default_factory=list)


def test_a_record_maps_to_its_row_with_the_supplied_columns_and_back() -> None:
    mapper = RowMapper(_Item, _items, supplied=("project_id",), unstored=("parts",))
    assert mapper.row(_Item("a", 3, ["x"]), project_id="p") == {
        "id": "a",
        "size": 3,
        "project_id": "p",
    }
    assert mapper.record_from({"project_id": "p", "id": "a", "size": 3}, parts=["x"]) == _Item(
        "a", 3, ["x"]
    )
    assert mapper.record_from({"project_id": "p", "id": "a", "size": 3}, size=4) == _Item("a", 4)


def test_a_column_the_record_lacks_fails_when_the_mapper_is_made() -> None:
    with pytest.raises(TypeError, match=r"_Item has no field for items\.\['project_id'\]"):
        RowMapper(_Item, _items, unstored=("parts",))


def test_a_field_the_table_lacks_fails_when_the_mapper_is_made() -> None:
    with pytest.raises(TypeError, match=r"items has no column for _Item\.\['parts'\]"):
        RowMapper(_Item, _items, supplied=("project_id",))


def test_feedback_and_events_map_every_column_but_the_scope_s() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    record = Feedback(
        id="fb_1",
        type="negative",
        message_id="m1",
        conversation_id="c1",
        created_at=now,
        updated_at=now,
        integration_id="i1",
        reasons=[{"label": "x"}],
        details="d",
        sources=[],
        properties={"a": 1},
        user_properties={"id": "u"},
    )
    mapper = RowMapper(Feedback, feedback, supplied=("project_id", "organization_id"))
    row = mapper.row(record, project_id="p", organization_id="o")
    assert set(row) == {c.name for c in feedback.columns}
    assert mapper.record_from(row) == record
    event = Event(id="evt_1", entity_type="search", type="search", project_id="p", created_at=now)
    event_row = RowMapper(Event, events, supplied=("organization_id",)).row(
        event, organization_id="o"
    )
    assert set(event_row) == {c.name for c in events.columns if c.computed is None}
