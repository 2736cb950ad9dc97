"""Every operator and every resource field is documented in the query README."""

from __future__ import annotations

from pathlib import Path

import convoscope.query
from convoscope.query.operators import OPERATORS

README = (Path(convoscope.query.__file__).parent / "README.md").read_text(encoding="utf-8")


def test_every_operator_has_a_row_with_an_example() -> None:
    missing = [key for key in OPERATORS if f"| `{key}` | `{{field:" not in README]
    assert missing == []


def test_the_operator_registry_is_the_17_of_the_spec() -> None:
    assert list(OPERATORS) == [
        "eq", "neq", "gt", "gte", "lt", "lte", "in", "notIn", "arrayContains", "jsonContains",
        "jsonContainedBy", "jsonHasKey", "jsonArrayContainsObject", "jsonHasAnyKey",
        "jsonHasAllKeys", "isNull", "isNotNull",
    ]  # fmt: skip
