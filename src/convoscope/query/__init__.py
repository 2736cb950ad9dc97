"""The analytics query DSL: parse a request, compile it to SQL, shape the rows.

- ``parse.parse_query(resource, request)``: a validated request (``request.py``'s
  protocols, which the wire models of ``convoscope.schemas.query`` fit) to a ``Query``;
- ``compile.compile_query(query, project_id=…)``: one SQLAlchemy ``Select``;
- ``execute.fetch_page`` / ``run_limited``: run it under the time limit;
- ``export.CsvExport``: every row as CSV, in bounded memory;
- ``fields``: the resources (``CONVERSATIONS``, ``EVENTS``, …) and their fields;
- ``properties``, ``searches``, ``describe``: property discovery, the search reports, a
  filter in English.

See README.md in this package for the grammar and the SQL each part becomes.

The names of ``__all__`` load their module on first use (``convoscope.lazy``):
importing the package loads no SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convoscope.lazy import lazy_exports

if TYPE_CHECKING:
    from convoscope.query.compile import CompiledQuery, PathColumns, compile_filter, compile_query
    from convoscope.query.execute import PAGE_SIZE, fetch_page, run_limited
    from convoscope.query.export import CsvExport, unpacked_keys
    from convoscope.query.fields import (
        CONVERSATIONS,
        EVENTS,
        FEEDBACK,
        RESOURCES,
        SEMANTIC_THREADS,
        VIEWS,
        Kind,
        Resource,
    )
    from convoscope.query.model import Query
    from convoscope.query.operators import parse_time_value
    from convoscope.query.parse import parse_filter, parse_query
    from convoscope.query.properties import ALL_VIEWS, property_keys, property_values
    from convoscope.query.rows import shape_row
    from convoscope.query.searches import top_search_queries, weekly_search_users

__all__ = [
    "ALL_VIEWS",
    "CONVERSATIONS",
    "CompiledQuery",
    "CsvExport",
    "EVENTS",
    "FEEDBACK",
    "Kind",
    "PAGE_SIZE",
    "PathColumns",
    "Query",
    "RESOURCES",
    "Resource",
    "SEMANTIC_THREADS",
    "VIEWS",
    "compile_filter",
    "compile_query",
    "fetch_page",
    "parse_filter",
    "parse_query",
    "parse_time_value",
    "property_keys",
    "property_values",
    "run_limited",
    "shape_row",
    "top_search_queries",
    "unpacked_keys",
    "weekly_search_users",
]

if not TYPE_CHECKING:
    __getattr__ = lazy_exports(
        __name__,
        {
            "compile": ("CompiledQuery", "PathColumns", "compile_filter", "compile_query"),
            "execute": ("PAGE_SIZE", "fetch_page", "run_limited"),
            "export": ("CsvExport", "unpacked_keys"),
            "fields": (
                "CONVERSATIONS",
                "EVENTS",
                "FEEDBACK",
                "RESOURCES",
                "SEMANTIC_THREADS",
                "VIEWS",
                "Kind",
                "Resource",
            ),
            "model": ("Query",),
            "operators": ("parse_time_value",),
            "parse": ("parse_filter", "parse_query"),
            "properties": ("ALL_VIEWS", "property_keys", "property_values"),
            "rows": ("shape_row",),
            "searches": ("top_search_queries", "weekly_search_users"),
        },
    )
