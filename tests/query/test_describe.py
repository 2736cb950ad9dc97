"""Filters read as English, built from each operator's describe()."""

from __future__ import annotations

from convoscope.query import CONVERSATIONS, parse_filter
from convoscope.query.describe import describe


def test_a_filter_reads_as_a_sentence() -> None:
    where = {
        "and": [
            {"condition": {"field": "type", "operator": "eq", "value": "openai"}},
            {
                "or": [
                    {
                        "condition": {
                            "field": "properties",
                            "operator": "in",
                            "value": {"path": ["plan"], "value": ["pro", "team"]},
                        }
                    },
                    {"condition": {"field": "userProperties", "operator": "isNull"}},
                ]
            },
        ]
    }
    assert describe(parse_filter(CONVERSATIONS, where, "where")) == (
        "type equals 'openai' and (properties.plan is one of ('pro', 'team') "
        "or userProperties is empty)"
    )
