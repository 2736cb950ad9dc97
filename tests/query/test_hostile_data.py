"""Each operator gives exactly these rows over hostile data, on both engines: keys with
dots, quotes and non-ASCII letters, digit keys next to array indexes, numbers stored as
strings, JSON nulls next to absent keys and SQL NULL columns."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from tests.query.test_differential import conversation_row, run, store

ROWS: dict[str, tuple[Any, Any]] = {
    "h1": ({"a.b": 1, "plan": "pro"}, {"id": "42"}),
    "h2": ({"a": {"b": 2}, "plan": "Pro"}, {"id": 42}),
    "h3": ({'q"t': "ü", "ü": ["x", {"y": None}]}, {"id": None}),
    "h4": ({"0": "zero", "list": [1, "1", True, None]}, None),
    "h5": (None, {"userId": "日本"}),
    "h6": ({"n": 1.5, "s": "1.5", "nested": {"deep": {"er": [1, 2]}}}, {}),
}


def at(field: str, path: list[str], operator: str, value: Any = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"field": field, "operator": operator, "value": {"path": path}}
    if operator not in {"isNull", "isNotNull"}:
        condition["value"]["value"] = value
    return {"condition": condition}


def on(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"field": field, "operator": operator}
    if operator not in {"isNull", "isNotNull"}:
        condition["value"] = value
    return {"condition": condition}


P, U = "properties", "userProperties"
CASES = [
    pytest.param(at(P, ["a.b"], "eq", 1), {"h1"}, id="key-with-a-dot-is-one-key"),
    pytest.param(at(P, ["a", "b"], "eq", 2), {"h2"}, id="path-descends"),
    pytest.param(at(U, ["id"], "eq", "42"), {"h1"}, id="string-42-is-not-number-42"),
    pytest.param(at(U, ["id"], "eq", 42), {"h2"}, id="number-42-is-not-string-42"),
    pytest.param(at(U, ["id"], "isNull"), {"h3", "h4", "h5", "h6"}, id="null-or-absent"),
    pytest.param(on(U, "isNotNull"), {"h1", "h2", "h3", "h5", "h6"}, id="column-not-null"),
    pytest.param(at(P, ['q"t'], "eq", "ü"), {"h3"}, id="quote-in-key"),
    pytest.param(on(P, "jsonContains", {"ü": [{"y": None}]}), {"h3"}, id="contains-nested-null"),
    pytest.param(on(P, "jsonContains", {"ü": ["x"]}), {"h3"}, id="contains-array-element"),
    pytest.param(on(P, "jsonContains", {"ü": "x"}), set(), id="nested-array-not-scalar"),
    pytest.param(at(P, ["list"], "arrayContains", "1"), {"h4"}, id="array-has-string-1"),
    pytest.param(at(P, ["list"], "arrayContains", [1, "1", True]), {"h4"}, id="array-has-all"),
    pytest.param(at(P, ["list"], "arrayContains", 2), set(), id="array-lacks-2"),
    pytest.param(at(P, ["0"], "eq", "zero"), {"h4"}, id="digit-key-of-object"),
    pytest.param(at(P, ["list", "1"], "eq", "1"), {"h4"}, id="digit-indexes-array"),
    # #> reads a key as PostgreSQL's strtol does: a sign, leading blanks; negative from the end.
    pytest.param(at(P, ["list", "-3"], "eq", "1"), {"h4"}, id="negative-index-from-end"),
    pytest.param(at(P, ["list", "-0"], "eq", 1), {"h4"}, id="minus-zero-is-first"),
    pytest.param(at(P, ["list", "+1"], "eq", "1"), {"h4"}, id="plus-sign-index"),
    pytest.param(at(P, ["list", " 1"], "eq", "1"), {"h4"}, id="leading-blank-index"),
    pytest.param(at(P, ["list", "1 "], "isNotNull"), set(), id="trailing-blank-no-index"),
    pytest.param(at(P, ["list", "-5"], "isNotNull"), set(), id="negative-out-of-range"),
    pytest.param(at(P, ["n"], "gt", 1), {"h6"}, id="number-gt"),
    pytest.param(at(P, ["s"], "gt", "1"), {"h6"}, id="string-gt-is-lexicographic"),
    pytest.param(at(P, ["n"], "gt", "1"), set(), id="gt-needs-same-type"),
    pytest.param(on(P, "jsonHasKey", "a.b"), {"h1"}, id="has-dotted-key"),
    pytest.param(on(P, "jsonHasKey", "0"), {"h4"}, id="has-digit-key"),
    pytest.param(on(P, "jsonHasKey", "ü"), {"h3"}, id="has-unicode-key"),
    pytest.param(on(P, "jsonHasAnyKey", ["zz", "plan"]), {"h1", "h2"}, id="has-any"),
    pytest.param(on(P, "jsonHasAllKeys", ["plan", "a.b"]), {"h1"}, id="has-all"),
    pytest.param(at(P, ["ü"], "jsonHasKey", "x"), {"h3"}, id="array-has-string-key"),
    pytest.param(on(U, "jsonContainedBy", {"id": 42, "o": 1}), {"h2", "h6"}, id="contained"),
    pytest.param(
        at(U, ["id"], "in", ["42", None]), {"h1", "h3", "h4", "h5", "h6"}, id="in-with-null"
    ),
    pytest.param(at(P, ["plan"], "notIn", ["pro"]), {"h2"}, id="not-in-skips-absent"),
    pytest.param(at(P, ["plan"], "neq", "pro"), {"h2"}, id="neq-case-sensitive"),
    pytest.param(at(U, ["userId"], "eq", "日本"), {"h5"}, id="unicode-value"),
    pytest.param(
        on(P, "jsonContains", {"nested": {"deep": {"er": [2]}}}), {"h6"}, id="deep-contains"
    ),
    pytest.param(on(P, "isNull"), {"h5"}, id="sql-null-column"),
]


@pytest.mark.parametrize(("where", "expected"), CASES)
def test_operator_on_hostile_data(
    engine: Engine, where: dict[str, Any], expected: set[str]
) -> None:
    store(
        engine,
        [
            conversation_row(name, properties=properties, userProperties=user)
            for name, (properties, user) in ROWS.items()
        ],
    )
    got = run(engine, {"select": [{"type": "field", "field": "id"}], "where": where})
    assert {row["id"] for row in got} == expected


# Strings JSON writers may spell in several ways: SQLite's containment test first looks
# for the string as the store writes it, so the two spellings must agree.
ESCAPED = ["tab\there", 'say "hi"', "back\\slash", "line\u2028sep", "ctl\x1f", "é/ü"]


@pytest.mark.parametrize("text", ESCAPED)
def test_contains_finds_strings_that_need_escaping(engine: Engine, text: str) -> None:
    store(
        engine,
        [
            conversation_row("value", properties={"note": text}),
            conversation_row("key", properties={text: 1}),
            conversation_row("element", properties={"tags": ["x", text]}),
            conversation_row("other", properties={"note": text + "!"}),
        ],
    )

    def ids(document: Any) -> set[str]:
        where = on(P, "jsonContains", document)
        return {
            r["id"]
            for r in run(engine, {"select": [{"type": "field", "field": "id"}], "where": where})
        }

    assert ids({"note": text}) == {"value"}
    assert ids({text: 1}) == {"key"}
    assert ids({"tags": [text]}) == {"element"}
