"""The SQL the compiler and the store build on, and every difference between the engines.

``constructs.py`` declares the JSON and time expressions the compiler uses, free of any
dialect. Their SQL text is written per dialect by ``@compiles`` functions:

- ``postgresql.py``: the JSONB operators and ``date_trunc`` / ``to_char``;
- ``sqlite_paths.py``: how SQLite reaches the value at a JSON path;
- ``sqlite_json.py``: JSONB's containment, key tests and typed values, unfolded into
  ``json_type`` / ``json_extract`` / ``json_each`` predicates;
- ``sqlite_time.py``: time buckets cut from the stored timestamp text;
- ``discovery.py``: statements whose shape differs (set-returning JSON functions).

Importing this package registers the ``@compiles`` functions; nothing outside it knows
which database it talks to.
"""

from convoscope.sql import postgresql, sqlite_json, sqlite_time  # noqa: F401
from convoscope.sql.constructs import (
    PREDICATE,
    BucketText,
    CodePointOrder,
    IndexedJsonValue,
    IsoTime,
    JsonContainedBy,
    JsonContains,
    JsonHasKeys,
    JsonIsContainer,
    JsonScalar,
    JsonString,
    JsonText,
    JsonValue,
    TimeBucket,
)
from convoscope.sql.discovery import object_keys

__all__ = [
    "PREDICATE",
    "BucketText",
    "CodePointOrder",
    "IndexedJsonValue",
    "IsoTime",
    "JsonContainedBy",
    "JsonContains",
    "JsonHasKeys",
    "JsonIsContainer",
    "JsonScalar",
    "JsonString",
    "JsonText",
    "JsonValue",
    "TimeBucket",
    "object_keys",
]
