"""Request bodies of the query routes, validated against their wire models; errors name the
field at fault (400 ``QueryError``), in the DSL's wording. What passes goes on to
``convoscope.query.parse``, which checks names and values against the resource."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from convoscope.errors import QueryError
from convoscope.query import Query, Resource, parse_query
from convoscope.schemas import QueryRequest, QuerySemanticThreadsRequestBody
from convoscope.validation import Problem, problems_of

M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], body: Any) -> M:
    """Validate a JSON body against ``model``; errors name the field at fault."""
    if body is None:
        body = {}
    try:
        return model.model_validate(body)
    except ValidationError as err:
        raise query_error_from(err, body) from None


def query_error_from(err: ValidationError, body: Any) -> QueryError:
    """The first field at fault, in the DSL's words (see ``_in_dsl_words``)."""
    problems = problems_of(err.errors(), body)
    first = problems[0] if problems else Problem("", "is invalid")
    where = first.field or "body"
    message = _in_dsl_words(first)
    return QueryError(f"{where}: {message}", field=where)


def _in_dsl_words(problem: Problem) -> str:
    """The translator's message as the rest of the DSL words its own (query/parse.py):
    "must be an array", not pydantic's "Input should be a valid list", and a selection's
    type by its three kinds. Kept apart from the API's wording because these messages
    are what the query routes have always answered."""
    if problem.kind in {"union_tag_invalid", "union_tag_not_found"}:
        return "must be one of 'field', 'aggregation', 'time'"
    if problem.kind in {"model_type", "dict_type"}:
        return "must be a JSON object"
    message = re.sub(r"^(Input|String|List|Value) should (be )?", "must \\2", problem.message)
    return message.replace("a valid list", "an array").replace("a valid dictionary", "an object")


def parse_request(resource: Resource, body: Any) -> Query:
    """The JSON body of ``/query/<resource>`` or its export, validated and checked; only
    semantic threads take a text ``query``."""
    model = QuerySemanticThreadsRequestBody if resource.search_columns else QueryRequest
    return parse_query(resource, parse_body(model, body))


# The model each route's body is validated against, by operation id, for the OpenAPI
# document: the routes take the body raw and validate it themselves (``parse_body``), so
# that a bad body gets the DSL's problem naming the field at fault, and FastAPI alone
# would document it as any object.
REQUEST_MODELS: dict[str, type[BaseModel]] = {}


def validated_as(model: type[BaseModel], operation_id: str) -> str:
    """``operation_id``, noting that its body is validated as ``model``."""
    REQUEST_MODELS[operation_id] = model
    return operation_id
