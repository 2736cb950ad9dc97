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
"""
