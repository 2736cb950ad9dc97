"""A query in canonical form: what ``parse_query`` produces and ``compile_query`` reads.

Every name has been checked against the resource's enum and every value against its
operator, so the compiler never sees client input it has not vetted. Two spellings of one
query (``includeInSelect`` left out or sent as true, ``where`` wrapped in a one-item
``and``) give equal objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convoscope.query.fields import Field, Resource

if TYPE_CHECKING:
    from convoscope.query.operators import Operator


@dataclass(frozen=True, slots=True)
class SelectField:
    key: str
    field: Field
    path: tuple[str, ...] = ()
    as_json: bool = False


@dataclass(frozen=True, slots=True)
class SelectAggregate:
    key: str
    aggregation: str
    field: Field | None = None
    path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SelectTime:
    key: str
    field: Field
    unit: str


@dataclass(frozen=True, slots=True)
class GroupKey:
    key: str
    field: Field
    path: tuple[str, ...]
    include: bool


Selection = SelectField | SelectAggregate | SelectTime


@dataclass(frozen=True, slots=True)
class Condition:
    field: Field
    operator: Operator
    path: tuple[str, ...]
    value: Any
    # Where the condition sits in the request, for error messages and descriptions.
    location: str

    @property
    def string_lookups(self) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
        """(JSON path, strings): where a row this condition matches must hold one of the
        strings, as an index on the path can look them up (``compile.py``). ``eq`` and
        ``in`` ask for strings at their path; ``jsonContains`` with an object, for each
        member that is a string (below the top, JSONB containment of a string is
        equality). Empty for any other condition."""
        if self.operator.key in {"eq", "in"} and self.path:
            values = self.value if isinstance(self.value, tuple) else (self.value,)
            if values and all(isinstance(v, str) for v in values):
                return ((self.path, tuple(values)),)
        if self.operator.key == "jsonContains" and isinstance(self.value, dict):
            return tuple(_members(self.path, self.value))
        return ()


def _members(
    path: tuple[str, ...], document: dict[str, Any]
) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The strings an object contained at ``path`` requires, with their paths, nested
    objects included."""
    for key, value in document.items():
        if isinstance(value, str):
            yield (*path, key), (value,)
        elif isinstance(value, dict):
            yield from _members((*path, key), value)


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Filter, ...]


Filter = Condition | AllOf | AnyOf


@dataclass(frozen=True, slots=True)
class Order:
    key: str
    descending: bool


@dataclass(frozen=True, slots=True)
class Query:
    resource: Resource
    selections: tuple[Selection, ...] = ()
    group_by: tuple[GroupKey, ...] = ()
    where: Filter | None = None
    order_by: tuple[Order, ...] = ()
    search: str | None = None

    def json_paths(self) -> list[tuple[str, tuple[str, ...]]]:
        """The JSON paths an index would serve, as (field, path): those selected, grouped
        or aggregated by, and those a filter looks strings up at (``string_lookups``)."""
        out = [
            (item.field.name, item.path)
            for item in [*self.selections, *self.group_by]
            if isinstance(item, SelectField | SelectAggregate | GroupKey)
            and item.path
            and item.field is not None
        ]
        pending = [self.where] if self.where is not None else []
        while pending:
            node = pending.pop()
            if isinstance(node, Condition):
                out.extend((node.field.name, path) for path, _ in node.string_lookups)
            else:
                pending.extend(node.items)
        return out

    def field_selections(self) -> list[SelectField]:
        """The fields selected: those asked for, or every field of a raw query that asks
        for none."""
        if not self.selections and not self.is_grouped:
            return [SelectField(f.name, f) for f in self.resource.fields.values()]
        return [s for s in self.selections if isinstance(s, SelectField)]

    @property
    def is_grouped(self) -> bool:
        """Aggregations, group-by and time buckets all make one row per group."""
        return bool(self.group_by) or any(
            isinstance(s, SelectAggregate | SelectTime) for s in self.selections
        )
