"""One translator of pydantic's errors: the field is named as the client wrote it (no
union tag, no union branch), whatever face reports it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from convoscope.schemas import (
    InsertEvent,
    QueryRequest,
    create_conversation_adapter,
    export_line_adapter,
)
from convoscope.validation import Problem, field_path, invalid_input, problems_of

_events: TypeAdapter[Any] = TypeAdapter(InsertEvent)


def _problems(validate: Any, given: Any) -> list[Problem]:
    with pytest.raises(ValidationError) as caught:
        validate(given)
    return problems_of(caught.value.errors(), given)


def _of(model: type[BaseModel]) -> Any:
    return model.model_validate


OPENAI = {"type": "openai", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("validate", "given", "expected"),
    [
        pytest.param(
            create_conversation_adapter.validate_python,
            {**OPENAI, "messages": [{"role": "tool", "content": "x"}]},
            [Problem("messages[0].role", "Input should be 'system', 'user' or 'assistant'")],
            id="tag-of-the-body",
        ),
        pytest.param(
            create_conversation_adapter.validate_python,
            {**OPENAI, "messages": [{"role": "user", "content": 3}]},
            [
                Problem(
                    "messages[0].content",
                    "Input should be a valid string or Input should be a valid list",
                )
            ],
            id="branches-of-a-union-said-once",
        ),
        pytest.param(
            _of(QueryRequest),
            {"select": [{"type": "field", "field": 3}]},
            [Problem("select[0].field", "Input should be a valid string")],
            id="tag-that-is-also-a-key",
        ),
        pytest.param(
            _of(QueryRequest),
            {"select": [{"type": "time"}]},
            [Problem("select[0].timeUnit", "is required")],
            id="missing-under-a-tag",
        ),
        pytest.param(
            _of(QueryRequest),
            {"select": [{"type": "bucket"}]},
            [
                Problem(
                    "select[0].type", "must be one of 'field', 'aggregation', 'time'; got 'bucket'"
                )
            ],
            id="unknown-tag",
        ),
        pytest.param(
            _events.validate_python,
            {"entityType": "message", "type": "x", "messageId": "m", "integrationId": "i" * 65},
            [Problem("integrationId", "String should have at most 64 characters")],
            id="a-field-that-starts-like-a-type-name",
        ),
        pytest.param(
            export_line_adapter.validate_python,
            {"conversation": {**OPENAI, "messages": [{"role": "user"}]}},
            [Problem("conversation.messages[0].content", "is required")],
            id="tag-inside-a-field",
        ),
    ],
)
def test_the_field_is_named_as_the_client_wrote_it(
    validate: Any, given: Any, expected: list[Problem]
) -> None:
    assert [Problem(p.field, p.message) for p in _problems(validate, given)] == expected


def test_without_the_input_pydantic_s_branch_names_are_dropped() -> None:
    assert field_path(("query", "limit"), roots=("query",)) == "limit"
    assert field_path(("messages", 0, "content", "list[ContentPart]", 1, "type")) == (
        "messages[0].content[1].type"
    )
    assert field_path(("integrationId",)) == "integrationId"


def test_invalid_input_names_the_first_field_and_counts_the_others() -> None:
    problems = _problems(
        create_conversation_adapter.validate_python,
        {"type": "openai", "messages": [{"role": "tool"}], "visibility": "all"},
    )
    err = invalid_input(problems)
    assert err.field == "visibility"
    assert err.detail == "visibility: Input should be 'private' or 'public' (and 2 more problems)"
    assert err.errors == [
        {"field": "visibility", "message": "Input should be 'private' or 'public'"},
        {"field": "messages[0].role", "message": "Input should be 'system', 'user' or 'assistant'"},
        {"field": "messages[0].content", "message": "is required"},
    ]
