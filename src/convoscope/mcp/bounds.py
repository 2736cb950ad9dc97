"""Keeping tool results small enough for an agent's context.

A query may answer 1000 rows, a page of feedback embeds whole conversations: sent as they
are, either can be megabytes, more than any model reads. A result over the budget loses
items from the end of its lists (the first ones are kept: every list is ordered), and
says so in ``note`` with how many were kept, so the agent knows to narrow its question.
"""

from __future__ import annotations

from typing import Any

import orjson

# Characters of JSON. About 25,000 tokens: room for an answer and a follow-up question
# in any current model's context.
MAX_RESULT_CHARS = 100_000

JsonObject = dict[str, Any]
ListPath = tuple[str, ...]


def size(value: Any) -> int:
    return len(orjson.dumps(value))


def _parent(payload: JsonObject, path: ListPath) -> JsonObject | None:
    node: Any = payload
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) and isinstance(node.get(path[-1]), list) else None


def bound(
    payload: JsonObject,
    lists: tuple[ListPath, ...],
    *,
    hint: str,
    budget: int = MAX_RESULT_CHARS,
) -> JsonObject:
    """``payload`` with the lists at ``lists`` cut so that it fits ``budget``.

    The lists are filled in turn, one item from each, so that two lists (positive and
    negative feedback) keep a fair share each. ``hint`` tells the agent how to get the rest.
    """
    if size(payload) <= budget:
        return payload
    parents = [(p, _parent(payload, p)) for p in lists]
    found = [(p, parent, list(parent[p[-1]])) for p, parent in parents if parent is not None]
    for path, parent, _ in found:
        parent[path[-1]] = []
    # Room for the note: its fixed words, the counts, the hint.
    room = budget - size(payload) - 100 - 60 * len(found) - len(hint)
    kept: list[list[Any]] = [[] for _ in found]
    position = 0
    full = [False] * len(found)
    while not all(full):
        for i, (_, _, items) in enumerate(found):
            if full[i]:
                continue
            if position >= len(items):
                full[i] = True
                continue
            cost = size(items[position]) + 1
            if cost > room:
                full[i] = True
                continue
            room -= cost
            kept[i].append(items[position])
        position += 1
    counts = []
    for (path, parent, items), chosen in zip(found, kept, strict=True):
        parent[path[-1]] = chosen
        counts.append(f"{len(chosen)} of {len(items)} {'.'.join(path)}")
    payload["note"] = f"Cut to stay under {budget:,} characters: kept {', '.join(counts)}. {hint}"
    return payload


def bound_text(text: str, *, hint: str, budget: int = MAX_RESULT_CHARS) -> tuple[str, str | None]:
    """``text`` cut at the last line break within ``budget``, and the note saying so."""
    if len(text) <= budget:
        return text, None
    cut = text.rfind("\n", 0, budget)
    kept = text[: cut + 1] if cut >= 0 else ""
    return (
        kept,
        f"Cut to stay under {budget:,} characters: kept {kept.count(chr(10))} lines. {hint}",
    )
