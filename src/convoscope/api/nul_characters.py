"""Refuse U+0000 anywhere in a request: PostgreSQL cannot store it in text or JSON.

SQLite would store it, so the refusal is the API's own and the same on both engines: a
400 naming the field, not the database's error (a 5xx, which the SDK retries for an hour).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from convoscope.errors import InvalidInput

# How JSON spells the character; a body without it has none (a raw 0x00 is not JSON).
_ESCAPED = b"\\u0000"


async def refuse_nul_characters(request: Request) -> None:
    if "\x00" in request.scope["path"]:
        raise _refusal("path")
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise _refusal(name.replace("\x00", "") or "query")
    if request.method in {"POST", "PUT", "PATCH"}:
        body = await request.body()  # FastAPI has read it already: this is its copy
        if _ESCAPED in body:
            try:
                document = orjson.loads(body)
            except orjson.JSONDecodeError:
                return  # the body's own parser reports malformed JSON
            where = _first_nul(document, "")
            if where is not None:
                raise _refusal(where or "body")


def _first_nul(value: Any, path: str) -> str | None:
    """The path of the first string (or key) holding U+0000, as the error names fields."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else key
            if "\x00" in key:
                return inner.replace("\x00", "")
            found = _first_nul(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_nul(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _refusal(field: str) -> InvalidInput:
    return InvalidInput(f"{field}: text cannot contain the character U+0000 (NUL)", field=field)
