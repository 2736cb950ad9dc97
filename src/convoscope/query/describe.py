"""A filter in English, for the dashboard's "conversations where …" line."""

from __future__ import annotations

from convoscope.query.model import AllOf, AnyOf, Condition, Filter
from convoscope.query.operators import Target


def describe(node: Filter) -> str:
    """``type equals 'openai' and (plan is one of ('pro',) or userProperties.id is empty)``."""
    if isinstance(node, Condition):
        return node.operator.describe(Target(node.field, node.path), node.value)
    if not node.items:
        return "always" if isinstance(node, AllOf) else "never"
    joiner = " and " if isinstance(node, AllOf) else " or "
    parts = []
    for item in node.items:
        text = describe(item)
        nested = isinstance(item, AllOf | AnyOf) and len(item.items) > 1
        parts.append(f"({text})" if nested else text)
    return joiner.join(parts)
