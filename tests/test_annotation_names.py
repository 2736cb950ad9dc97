"""One map of the annotation names: its columns are the store's, its wire names the API's,
and the analyzer's attributes are the columns."""

from __future__ import annotations

import dataclasses

from convoscope.annotate import Annotation
from convoscope.annotation_names import COLUMN_TO_WIRE, WIRE_TO_COLUMN
from convoscope.schemas import ThreadVerification
from convoscope.store.threads import ANNOTATION_FIELDS


def test_the_map_names_the_store_columns_and_the_wire_fields_in_order() -> None:
    assert tuple(WIRE_TO_COLUMN.values()) == ANNOTATION_FIELDS
    assert list(WIRE_TO_COLUMN) == list(ThreadVerification.model_fields)
    assert {f.name for f in dataclasses.fields(Annotation)} == set(ANNOTATION_FIELDS)


def test_sorted_columns_are_sorted_wire_names() -> None:
    """verifiedFields is stored sorted by column and answered in that order: it is the
    order the wire names sorted in when they were stored."""
    assert [COLUMN_TO_WIRE[c] for c in sorted(COLUMN_TO_WIRE)] == sorted(WIRE_TO_COLUMN)
