"""Request bodies of the query routes, validated against their wire models; errors name the
field at fault (400 ``QueryError``), in the DSL's wording. What passes goes on to
``convoscope.query.parse``, which checks names and values against the resource."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from convoscope.api.problems import field_path
from convoscope.errors import QueryError
from convoscope.query.fields import Resource
from convoscope.query.model import Query
from convoscope.query.parse import parse_query
from convoscope.schemas.query import QueryRequest, QuerySemanticThreadsRequestBody

M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], body: Any) -> M:
    """Validate a JSON body against ``model``; errors name the field at fault."""
    if body is None:
        body = {}
    try:
        return model.model_validate(body)
    except ValidationError as err:
        raise query_error_from(err) from None


def query_error_from(err: ValidationError) -> QueryError:
    item = err.errors()[0]
    loc = _without_union_tags(item["loc"])
    where = field_path(loc, from_request=False) or "body"
    message = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
    # pydantic says "Input should be a valid list"; the rest of the DSL says "must be".
    message = re.sub(r"^(Input|String|List|Value) should (be )?", "must \\2", message)
    message = message.replace("a valid list", "an array").replace("a valid dictionary", "an object")
    if item["type"] == "missing":
        message = "is required"
    elif item["type"] in {"union_tag_invalid", "union_tag_not_found"}:
        where = f"{where}.type"
        message = "must be one of 'field', 'aggregation', 'time'"
    elif item["type"] == "model_type" or item["type"] == "dict_type":
        message = "must be a JSON object"
    return QueryError(f"{where}: {message}", field=where)


def _without_union_tags(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # pydantic puts the discriminator value after the index: select[0].aggregation.field
    out: list[int | str] = []
    for i, item in enumerate(loc):
        after_select_index = i >= 2 and loc[i - 2] == "select" and isinstance(loc[i - 1], int)
        if after_select_index and item in {"field", "aggregation", "time"} and i + 1 < len(loc):
            continue
        out.append(item)
    return tuple(out)


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
