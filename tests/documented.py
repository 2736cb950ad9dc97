"""Every response the API tests get is checked against the model its route documents.

The response models (``ConversationOut``, ``Problem``, …) are what the OpenAPI document
and every generated client promise; the routes build their bodies as plain dicts for
speed, so nothing else compares the two. ``checking_responses(app)`` is an httpx response
hook that validates each JSON body against the model documented for its route and status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.routing import Match

Hook = Callable[[httpx.Response], Awaitable[None]]


def documented_model(app: FastAPI, method: str, path: str, status: int) -> Any | None:
    """The model ``app`` documents for ``status`` of ``method path``, if any."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in _api_routes(app.router.routes):
        match, _ = route.matches(scope)
        if match is not Match.FULL:
            continue
        documented = route.responses.get(status) or route.responses.get(str(status)) or {}
        model = documented.get("model")
        if model is None and status == 200:
            model = route.response_model
        return model
    return None


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    # Included routers stand in the app's routes as wrappers of the router included.
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def check_body(app: FastAPI, method: str, path: str, status: int, body: Any) -> None:
    model = documented_model(app, method, path, status)
    if model is None:
        return
    try:
        if isinstance(model, type) and issubclass(model, BaseModel):
            model.model_validate(body)
        else:
            TypeAdapter(model).validate_python(body)
    except ValidationError as err:
        raise AssertionError(
            f"{method} {path} answered {status} with a body its documented model "
            f"{getattr(model, '__name__', model)} refuses:\n{err}"
        ) from None


def checking_responses(app: FastAPI) -> Hook:
    async def hook(response: httpx.Response) -> None:
        kind = response.headers.get("content-type", "")
        if not kind.startswith(("application/json", "application/problem+json")):
            return
        await response.aread()
        request = response.request
        check_body(app, request.method, request.url.path, response.status_code, response.json())

    return hook
