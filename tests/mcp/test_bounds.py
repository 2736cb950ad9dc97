"""A result over the budget keeps the first items of each list, in turn, and says what it
cut; a result within the budget is left as it is."""

from __future__ import annotations

from convoscope.mcp.bounds import bound, bound_text, size


def test_a_small_result_is_unchanged() -> None:
    payload = {"data": {"result": [{"n": 1}]}}
    assert bound(payload, (("data", "result"),), hint="h") == {"data": {"result": [{"n": 1}]}}


def test_two_lists_keep_a_fair_share_each_and_the_note_says_how_many() -> None:
    item = {"text": "x" * 90}
    payload = {"positive": [item] * 10, "negative": [item] * 3, "count": 13}
    cut = bound(payload, (("positive",), ("negative",)), hint="Page on.", budget=900)
    assert size(cut) <= 900
    assert (len(cut["positive"]), len(cut["negative"])) == (3, 3)
    assert cut["note"] == (
        "Cut to stay under 900 characters: kept 3 of 10 positive, 3 of 3 negative. Page on."
    )


def test_text_is_cut_at_a_line_break() -> None:
    kept, note = bound_text("id\na\nbb\nccc\n", hint="Export.", budget=8)
    assert (kept, note) == ("id\na\nbb\n", "Cut to stay under 8 characters: kept 3 lines. Export.")
    assert bound_text("id\n", hint="", budget=8) == ("id\n", None)
