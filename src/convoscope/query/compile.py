"""``compile_query``: a canonical ``Query`` to one SQLAlchemy ``Select``, for both dialects.

Pure: no connection, no dialect test (those live in the ``sql`` package), and client
values only as bound parameters. Output columns are labelled ``c0``, ``c1``…: the row keys
(which may contain any character a JSON path has) never become SQL identifiers.

Raw queries select from the resource's table. Grouped queries (aggregations, group-by or
time buckets) group by the raw dimension values in a subquery ``g`` and format them in
the outer query (see ``_groups``). Every query is confined to the caller's project,
whatever its ``where`` says.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Integer,
    Select,
    Subquery,
    Text,
    and_,
    cast,
    distinct,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy import column as sa_column
from sqlalchemy.sql.elements import ColumnElement, Label

from convoscope.query.fields import Field, Kind, Resource
from convoscope.query.model import (
    AllOf,
    AnyOf,
    Condition,
    Filter,
    GroupKey,
    Query,
    SelectAggregate,
    SelectField,
    SelectTime,
)
from convoscope.query.operators import Target
from convoscope.query.rows import (
    Shaper,
    aggregate_shaper,
    bucket_shaper,
    field_shaper,
    path_shaper,
)
from convoscope.sql import (
    BucketText,
    IndexedJsonValue,
    IsoTime,
    JsonScalar,
    JsonText,
    JsonValue,
    TimeBucket,
)

TOTAL_LABEL = "total_"
# Kinds whose raw-row value needs no shaping for CSV: ISO text (timestamps are selected as
# text), strings, integers.
_PLAIN_KINDS = (Kind.STRING, Kind.TIME, Kind.NUMBER)

# The JSON paths that have an index, as (table, JSON column, path) -> the column that
# holds their value (indexing/path_indexes.py).
PathColumns = Mapping[tuple[str, str, tuple[str, ...]], str]


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """The statement, and for each of its columns the row key and how to shape it."""

    statement: Select[Any]
    shapers: tuple[tuple[str, Shaper], ...]
    # Raw queries count separately (a window would stop the LIMIT from using an index).
    count_statement: Select[Any] | None
    # Grouped queries with ``with_total`` carry the number of groups as a last column.
    has_total_column: bool = False
    # Columns whose database value is already what a CSV cell shows (text, an integer, or
    # NULL for an empty cell): exports pass them through untouched.
    plain: tuple[bool, ...] = ()


def compile_query(
    query: Query,
    *,
    project_id: str,
    with_total: bool = False,
    path_columns: PathColumns | None = None,
) -> CompiledQuery:
    """The SQL for ``query``, confined to ``project_id``; selected and grouped JSON paths
    named in ``path_columns`` are read through their index."""
    values = _JsonValues(path_columns or {})
    condition = and_(query.resource.project_column() == project_id, _where(query, values))
    if query.is_grouped:
        return _grouped(query, condition, values, with_total=with_total)
    return _raw(query, condition, values)


@dataclass(frozen=True, slots=True)
class _JsonValues:
    path_columns: PathColumns

    def __call__(self, field: Field, path: tuple[str, ...]) -> JsonValue:
        column = field.column()
        stored = self._stored(field, path)
        if stored is None:
            return JsonValue(column, path)
        return IndexedJsonValue(column, path, stored)

    def narrow(self, node: Condition, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        """``condition``, led by index lookups where it needs strings at indexed paths
        (``Condition.string_lookups``). The index holds the value's JSON text, and every
        JSON column is written by orjson, which spells a string one way only: the
        string's own ``orjson.dumps``. The original test still decides."""
        lookups: list[ColumnElement[bool]] = []
        for path, strings in node.string_lookups:
            stored = self._stored(node.field, path)
            if stored is not None:
                texts = sorted({orjson.dumps(v).decode() for v in strings})
                lookups.append(stored.in_(texts) if len(texts) > 1 else stored == texts[0])
        return and_(*lookups, condition) if lookups else condition

    def _stored(self, field: Field, path: tuple[str, ...]) -> ColumnElement[Any] | None:
        return indexed_column(self.path_columns, field.column(), path)


def indexed_column(
    path_columns: PathColumns, column: ColumnElement[Any], path: tuple[str, ...]
) -> ColumnElement[Any] | None:
    """The generated column that holds ``path`` of the JSON ``column``, if it is indexed."""
    table = getattr(column, "table", None)
    name = path_columns.get((getattr(table, "name", ""), column.key or "", path))
    return None if name is None else sa_column(name, Text, _selectable=table)


def compile_filter(node: Filter, json_values: _JsonValues | None = None) -> ColumnElement[bool]:
    if isinstance(node, Condition):
        condition = node.operator.to_sql(Target(node.field, node.path), node.value)
        return condition if json_values is None else json_values.narrow(node, condition)
    parts = [compile_filter(item, json_values) for item in node.items]
    if isinstance(node, AllOf):
        return and_(*parts) if parts else true()
    assert isinstance(node, AnyOf)
    return or_(*parts) if parts else false()


def _where(query: Query, json_values: _JsonValues) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if query.where is not None:
        parts.append(compile_filter(query.where, json_values))
    if query.search:
        table = query.resource.table
        parts.append(
            or_(
                *(
                    table.c[name].icontains(query.search, autoescape=True)
                    for name in query.resource.search_columns
                )
            )
        )
    return and_(*parts) if parts else true()


def _output(field: Field, value: ColumnElement[Any]) -> ColumnElement[Any]:
    """How a field's value is selected: timestamps as ISO text, JSON as JSON text."""
    if field.kind is Kind.TIME:
        return IsoTime(value)
    if field.kind.is_json:
        return JsonText(value)
    return value


def _raw(query: Query, condition: ColumnElement[bool], json_value: _JsonValues) -> CompiledQuery:
    resource = query.resource
    selections = query.field_selections()
    columns: list[Label[Any]] = []
    shapers: list[tuple[str, Shaper]] = []
    by_key: dict[str, ColumnElement[Any]] = {}
    plain = [False] * len(selections)
    for s in selections:
        if s.path:
            value: ColumnElement[Any] = json_value(s.field, s.path)
            columns.append(JsonText(value).label(f"c{len(columns)}"))
            shapers.append((s.key, path_shaper(s.key)))
            by_key[s.key] = value
        else:
            columns.append(_output(s.field, s.field.column()).label(f"c{len(columns)}"))
            shapers.append((s.key, field_shaper(resource, s.field)))
            plain[len(columns) - 1] = s.field.kind in _PLAIN_KINDS
    for name, f in resource.fields.items():
        by_key.setdefault(name, f.column())
    order: list[ColumnElement[Any]] = []
    for o in query.order_by:
        expr = by_key[o.key]
        order.append((expr.desc() if o.descending else expr.asc()).nulls_last())
    id_column = resource.id_column()
    if not query.order_by:
        main = resource.fields[resource.main_time].column()
        order = [main.desc(), id_column.desc()]
    elif not any(o.key == "id" for o in query.order_by):
        order.append(id_column.asc())
    statement = select(*columns).where(condition).order_by(*order)
    count = select(func.count()).select_from(resource.table).where(condition)
    return CompiledQuery(statement, tuple(shapers), count, plain=tuple(plain))


@dataclass(frozen=True, slots=True)
class _Dimension:
    key: str
    inner: ColumnElement[Any]
    # The selected expression, as a function of the subquery's column.
    output: Callable[[ColumnElement[Any]], ColumnElement[Any]]
    shaper: Shaper
    include: bool
    is_time_bucket: bool
    # A JSON path is a bound parameter: PostgreSQL would not match two copies of it, so
    # such dimensions are grouped by name through a subquery.
    has_parameters: bool = False


def _dimension(
    resource: Resource, item: SelectField | SelectTime | GroupKey, json_value: _JsonValues
) -> _Dimension:
    if isinstance(item, SelectTime):
        stored = resource.stored_bucket(item.field.name, item.unit)
        return _Dimension(
            item.key,
            TimeBucket(item.field.column(), item.unit) if stored is None else stored,
            functools.partial(_bucket_text, unit=item.unit),
            bucket_shaper,
            True,
            True,
        )
    include = item.include if isinstance(item, GroupKey) else True
    if item.path:
        return _Dimension(
            item.key,
            json_value(item.field, item.path),
            JsonText,
            path_shaper(item.key),
            include,
            False,
            has_parameters=True,
        )
    field = item.field
    return _Dimension(
        item.key,
        field.column(),
        functools.partial(_output, field),
        field_shaper(resource, field),
        include,
        False,
    )


def _bucket_text(value: ColumnElement[Any], *, unit: str) -> ColumnElement[Any]:
    return BucketText(value, unit)


def _measure_input(s: SelectAggregate, json_value: _JsonValues) -> ColumnElement[Any]:
    assert s.field is not None
    if s.path:
        if s.aggregation in {"count", "countDistinct"}:
            return json_value(s.field, s.path)
        return JsonScalar(s.field.column(), s.path, "number")
    column = s.field.column()
    if s.field.kind is Kind.BOOLEAN and s.aggregation not in {"count", "countDistinct"}:
        return cast(column, Integer)
    return column


def _aggregate(aggregation: str, column: ColumnElement[Any] | None) -> ColumnElement[Any]:
    if column is None:
        return func.count()
    if aggregation == "count":
        return func.count(column)
    if aggregation == "countDistinct":
        return func.count(distinct(column))
    if aggregation == "sum":
        return func.sum(column)
    if aggregation == "avg":
        return func.avg(column)
    if aggregation == "min":
        return func.min(column)
    return func.max(column)


def _grouped(
    query: Query, condition: ColumnElement[bool], json_value: _JsonValues, *, with_total: bool
) -> CompiledQuery:
    resource = query.resource
    dimensions: dict[str, _Dimension] = {}
    for item in [*query.selections, *query.group_by]:
        if isinstance(item, SelectAggregate):
            continue
        # parse_query keeps one group key per key, the one included if any.
        if item.key not in dimensions:
            dimensions[item.key] = _dimension(resource, item, json_value)
    measures: dict[str, SelectAggregate] = {}
    for item in query.selections:
        if isinstance(item, SelectAggregate):
            measures[item.key] = item

    measure_inputs = {
        key: _measure_input(m, json_value) for key, m in measures.items() if m.field is not None
    }
    if not dimensions:
        # One group: aggregate straight over the table.
        return _aggregated(query, condition, measures, measure_inputs, with_total)
    return _groups(query, condition, dimensions, measures, measure_inputs, with_total)


def _groups(
    query: Query,
    condition: ColumnElement[bool],
    dimensions: dict[str, _Dimension],
    measures: dict[str, SelectAggregate],
    inputs: dict[str, ColumnElement[Any]],
    with_total: bool,
) -> CompiledQuery:
    """Group, then format: ``g`` groups by the raw dimension values and aggregates; the
    outer query formats the dimensions (ISO text, JSON text), counts the groups and sorts.

    Formatting outside the GROUP BY matters on PostgreSQL: an output expression that wraps
    a grouping expression (``to_char(date_trunc(…))``) makes it carry the raw columns of
    every row through its sort (measured +40% on conversations per day over 1M rows).
    When a dimension is a JSON path, a bound parameter PostgreSQL would not recognise in
    two copies, the values are first computed in a subquery ``q`` and grouped by name.
    """
    g, grouped = _group_subquery(query, condition, dimensions, measures, inputs)
    columns, shapers = _group_columns(query, dimensions, measures, grouped)
    if with_total:
        columns.append(func.count().over().label(TOTAL_LABEL))
    order = _group_order(query, dimensions, grouped)
    # From g in so many words: a time bucket's output is SQL text around g's column, so
    # selected alone, with no aggregate of g beside it, nothing else would name g.
    statement = select(*columns).select_from(g).order_by(*(_direction(e, d) for e, d in order))
    return CompiledQuery(statement, tuple(shapers), None, has_total_column=with_total)


def _group_subquery(
    query: Query,
    condition: ColumnElement[bool],
    dimensions: dict[str, _Dimension],
    measures: dict[str, SelectAggregate],
    inputs: dict[str, ColumnElement[Any]],
) -> tuple[Subquery, dict[str, ColumnElement[Any]]]:
    """``g``, the groups with their raw dimension values and aggregates, and each key's
    column of it (see ``_groups``)."""
    source: Any = query.resource.table
    group_values = {key: d.inner for key, d in dimensions.items()}
    measure_values = dict(inputs)
    where: ColumnElement[bool] | None = condition
    if any(d.has_parameters for d in dimensions.values()):
        inner = select(
            *(value.label(f"d{i}") for i, value in enumerate(group_values.values())),
            *(value.label(f"m{i}") for i, value in enumerate(measure_values.values())),
        ).where(condition)
        source = inner.subquery("q")
        group_values = {key: source.c[f"d{i}"] for i, key in enumerate(group_values)}
        measure_values = {key: source.c[f"m{i}"] for i, key in enumerate(measure_values)}
        where = None
    aggregates = {
        key: _aggregate(m.aggregation, measure_values.get(key)) for key, m in measures.items()
    }
    core = select(
        *(value.label(f"k{i}") for i, value in enumerate(group_values.values())),
        *(value.label(f"a{i}") for i, value in enumerate(aggregates.values())),
    ).select_from(source)
    if where is not None:
        core = core.where(where)
    g = core.group_by(*group_values.values()).subquery("g")
    grouped: dict[str, ColumnElement[Any]] = {
        key: g.c[f"k{i}"] for i, key in enumerate(group_values)
    }
    grouped |= {key: g.c[f"a{i}"] for i, key in enumerate(aggregates)}
    return g, grouped


def _group_columns(
    query: Query,
    dimensions: dict[str, _Dimension],
    measures: dict[str, SelectAggregate],
    grouped: dict[str, ColumnElement[Any]],
) -> tuple[list[Label[Any]], list[tuple[str, Shaper]]]:
    """The output columns, formatted from ``g``'s, in the order the request names them,
    and the shaper of each."""
    shapers: list[tuple[str, Shaper]] = []
    columns: list[Label[Any]] = []
    for item in [*query.selections, *query.group_by]:
        key = item.key
        if any(k == key for k, _ in shapers):
            continue
        if isinstance(item, SelectAggregate):
            m = measures[key]
            expr = grouped[key]
            shaper = aggregate_shaper(m.aggregation, m.field, m.path)
        else:
            d = dimensions[key]
            if not d.include:
                continue
            expr = d.output(grouped[key])
            shaper = d.shaper
        columns.append(expr.label(f"c{len(columns)}"))
        shapers.append((key, shaper))
    return columns, shapers


def _aggregated(
    query: Query,
    condition: ColumnElement[bool],
    measures: dict[str, SelectAggregate],
    inputs: dict[str, ColumnElement[Any]],
    with_total: bool,
) -> CompiledQuery:
    """A grouped query without dimensions: one row of aggregates over the matching rows."""
    columns: list[Label[Any]] = []
    shapers: list[tuple[str, Shaper]] = []
    for key, m in measures.items():
        columns.append(_aggregate(m.aggregation, inputs.get(key)).label(f"c{len(columns)}"))
        shapers.append((key, aggregate_shaper(m.aggregation, m.field, m.path)))
    if with_total:
        columns.append(literal(1).label(TOTAL_LABEL))
    statement = select(*columns).select_from(query.resource.table).where(condition)
    return CompiledQuery(statement, tuple(shapers), None, has_total_column=with_total)


def _group_order(
    query: Query, dimensions: dict[str, _Dimension], sort_keys: dict[str, ColumnElement[Any]]
) -> list[tuple[ColumnElement[Any], bool]]:
    """The requested order, then time buckets, then every dimension: a total order."""
    order = [(sort_keys[o.key], o.descending) for o in query.order_by]
    ordered = {o.key for o in query.order_by}
    if not query.order_by:
        for key, d in dimensions.items():
            if d.is_time_bucket:
                order.append((sort_keys[key], False))
                ordered.add(key)
    order += [(sort_keys[key], False) for key in dimensions if key not in ordered]
    return order


def _direction(expr: ColumnElement[Any], descending: bool) -> ColumnElement[Any]:
    return (expr.desc() if descending else expr.asc()).nulls_last()
