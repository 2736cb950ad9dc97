"""The OpenAPI document says what the server takes and sends: every error as
``application/problem+json``, and each raw body as the model that checks it.

FastAPI files each documented response model under the route's own media type
(``application/json``), and adds its own 422 shape to every operation with parameters.
Neither is what goes out: api/problems.py answers every error with a ``Problem`` body as
``application/problem+json`` (API.md §1.5), and a client that validates responses
against the document would reject each one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from convoscope.api.bodies import REQUEST_MODELS

PROBLEM_MEDIA_TYPE = "application/problem+json"
_PROBLEM_REF = "#/components/schemas/Problem"
# FastAPI's own validation error shapes; no answer of this server uses them.
_UNUSED = ("HTTPValidationError", "ValidationError")


def install_openapi(app: FastAPI) -> None:
    """Serve the app's document with its bodies and error responses as they are."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_request_models(document_problems(build()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every 4xx and 5xx response documented as a problem."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45":
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}}
    schemas = document.get("components", {}).get("schemas", {})
    for name in _UNUSED:
        schemas.pop(name, None)
    return document


def document_request_models(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with each body a route validates itself (``api/bodies.py``) shown as
    its model, where FastAPI sees a raw body and documents any object."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            model = REQUEST_MODELS.get(operation.get("operationId", ""))
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if model is None or body is None:
                continue
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in schema.pop("$defs", {}).items():
                schemas.setdefault(name, definition)
            schemas.setdefault(model.__name__, schema)
            body["schema"] = {"$ref": f"#/components/schemas/{model.__name__}"}
    return document
