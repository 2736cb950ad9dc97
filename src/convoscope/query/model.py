"""A query in canonical form: what ``parse_query`` produces and ``compile_query`` reads.

Every name has been checked against the resource's enum and every value against its
operator, so the compiler never sees client input it has not vetted. Two spellings of one
query (``includeInSelect`` left out or sent as true, ``where`` wrapped in a one-item
``and``) give equal objects.
"""

from __future__ import annotations

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
    def strings_at_path(self) -> tuple[str, ...]:
        """The strings an ``eq`` or ``in`` asks for at a JSON path; empty for any other
        condition (an index on the path can look these up, see ``compile.py``)."""
        if self.operator.key not in {"eq", "in"} or not self.path:
            return ()
        values = self.value if isinstance(self.value, tuple) else (self.value,)
        if not values or not all(isinstance(v, str) for v in values):
            return ()
        return tuple(values)


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
        or aggregated by, and those a filter looks strings up at."""
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
                if node.strings_at_path:
                    out.append((node.field.name, node.path))
            else:
                pending.extend(node.items)
        return out

    @property
    def is_grouped(self) -> bool:
        """Aggregations, group-by and time buckets all make one row per group."""
        return bool(self.group_by) or any(
            isinstance(s, SelectAggregate | SelectTime) for s in self.selections
        )
