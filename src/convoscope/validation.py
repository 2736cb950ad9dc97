"""pydantic's validation errors as what every face reports: the field at fault and why.

One translator for the API's request bodies, the query DSL, the importer, the MCP tools
and the CLI. ``problems_of`` turns pydantic's error list into ``Problem(field, message)``
with the field named as the client wrote it (``messages[0].content``): without the tag of
a tagged union or the name of the union branch that was tried, which pydantic puts in
its locations; ``invalid_input`` sums them up as the one ``InvalidInput`` the API sends.

Tags and branch names are told from field names by walking the input along the location:
a tag is the value of the key that chose the variant (``{"type": "field", "field": …}``
fails at ``('field', 'field')``), a branch name is no key of the value at all. Where the
input is not at hand (a query string), names that look like pydantic's branch labels
are dropped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from convoscope.errors import InvalidInput

# pydantic's labels of union branches: list[ContentPart], function-after[...], none, ...
_LABEL_PREFIXES = (
    "list[",
    "dict[",
    "set[",
    "tuple[",
    "literal[",
    "function-",
    "constrained-",
    "json-or-python[",
    "lax-or-strict[",
    "nullable[",
    "is-instance[",
    "chain[",
)
_LABELS = {"str", "int", "float", "bool", "none", "bytes", "json", "decimal"}
_TAG_ERRORS = {"union_tag_invalid", "union_tag_not_found"}
_NOT_GIVEN: Any = object()
MAX_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class Problem:
    """One field at fault. ``field`` is ``""`` for the input as a whole; ``kind`` is
    pydantic's error type (``missing``, ``list_type``) for a face that words it its way."""

    field: str
    message: str
    kind: str = "value_error"


def problems_of(
    errors: Iterable[Mapping[str, Any]],
    given: Any = _NOT_GIVEN,
    *,
    roots: Collection[str] = (),
) -> list[Problem]:
    """The fields at fault in ``errors`` (``ValidationError.errors()``), first first.

    Args:
        given: the input that was validated, to tell union tags from field names by.
        roots: first location items that name where the input came from rather than a
            field (FastAPI's ``body``, ``query``); ``given`` is then keyed by them.

    A value that fits no branch of a union fails once per branch; it is one problem here,
    its messages joined with "or". When one branch got further into the value than
    another, its deeper problem is the one kept.
    """
    by_field: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    for item in list(errors)[:MAX_PROBLEMS]:
        kind = str(item.get("type", "value_error"))
        loc = tuple(item.get("loc", ()))
        path = field_path(loc, given, is_missing=kind == "missing", roots=roots)
        if kind in _TAG_ERRORS:
            tag = str(item.get("ctx", {}).get("discriminator", "type")).strip("'")
            path = f"{path}.{tag}" if path else tag
        elif kind == "json_invalid":
            path = "body"
        messages = by_field.setdefault(path, [])
        kinds.setdefault(path, kind)
        message = _message(item)
        if message not in messages:
            messages.append(message)
    deeper = [f for f in by_field if any(_is_inside(other, f) for other in by_field)]
    return [Problem(f, " or ".join(m), kinds[f]) for f, m in by_field.items() if f not in deeper]


def summary(problems: list[Problem]) -> str:
    """``field: message``, and how many more problems there are."""
    first = problems[0]
    where = f"{first.field}: " if first.field else ""
    return f"{where}{first.message}{and_more(problems)}"


def and_more(problems: list[Problem]) -> str:
    """`` (and 2 more problems)`` after the first of ``problems``, or nothing."""
    others = len(problems) - 1
    return f" (and {others} more problem{'s' if others > 1 else ''})" if others > 0 else ""


def invalid_input(problems: list[Problem], *, whole: str = "body") -> InvalidInput:
    """One InvalidInput naming the first field at fault, and listing all of them;
    ``whole`` names the input when nothing more precise is known."""
    if not problems:
        problems = [Problem(whole, "invalid")]
    return InvalidInput(
        summary(problems),
        field=problems[0].field or None,
        errors=[{"field": p.field, "message": p.message} for p in problems],
    )


def field_path(
    loc: tuple[int | str, ...],
    given: Any = _NOT_GIVEN,
    *,
    is_missing: bool = False,
    roots: Collection[str] = (),
) -> str:
    """``('openai', 'messages', 0, 'role')`` -> ``messages[0].role``, for an input whose
    ``type`` is ``openai``; ``is_missing``: the last item names a key that is not there."""
    parts: list[str] = []
    value = given
    for index, item in enumerate(loc):
        if index == 0 and isinstance(item, str) and item in roots:
            value = value.get(item, _NOT_GIVEN) if isinstance(value, Mapping) else _NOT_GIVEN
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
            is_there = isinstance(value, list) and -len(value) <= item < len(value)
            value = value[item] if is_there else _NOT_GIVEN
            continue
        if _is_label(value, item, loc[index + 1 :], is_missing):
            continue
        parts.append(("." if parts else "") + item)
        value = value.get(item, _NOT_GIVEN) if isinstance(value, Mapping) else _NOT_GIVEN
    return "".join(parts)


def _is_label(value: Any, item: str, rest: tuple[int | str, ...], is_missing: bool) -> bool:
    """Whether ``item``, met at ``value``, is a union's tag or branch name, not a key."""
    if value is _NOT_GIVEN:
        return item[:1].isupper() or item in _LABELS or item.startswith(_LABEL_PREFIXES)
    if not isinstance(value, Mapping):
        return True  # a list or a scalar has no keys: what follows it is a branch tried
    if item not in value:
        return bool(rest) or not is_missing
    is_tag = bool(rest) and isinstance(rest[0], str) and any(v == item for v in value.values())
    if not is_tag:
        return False
    # Both a key and the tag ({"type": "field", "field": 3} at ('field', 'field')): the
    # tag is followed by a key of the same object, a key by one of its own value's.
    inner = value[item]
    return not isinstance(inner, Mapping) or (rest[0] in value and rest[0] not in inner)


def _is_inside(path: str, parent: str) -> bool:
    return bool(parent) and path.startswith((parent + ".", parent + "["))


def _message(item: Mapping[str, Any]) -> str:
    kind = item.get("type")
    message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
    ctx = item.get("ctx") or {}
    if kind in {"missing", "union_tag_not_found"}:
        return "is required"
    if kind == "json_invalid":
        where = item["loc"][-1] if item.get("loc") else "?"
        return f"is not valid JSON (at character {where}: {ctx.get('error', message)})"
    if kind == "union_tag_invalid":
        return f"must be one of {ctx.get('expected_tags', '')}; got {ctx.get('tag')!r}"
    return message
