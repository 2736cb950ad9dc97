"""The SQL the compiler and the store build on, and every difference between the engines.

``constructs.py`` declares the JSON and time expressions the compiler uses, free of any
dialect. Their SQL text is written per dialect by ``@compiles`` functions:

- ``postgresql.py``: the JSONB operators and ``date_trunc`` / ``to_char``;
- ``sqlite_paths.py``: how SQLite reaches the value at a JSON path;
- ``sqlite_json.py``: JSONB's containment, key tests and typed values, unfolded into
  ``json_type`` / ``json_extract`` / ``json_each`` predicates;
- ``sqlite_time.py``: time buckets cut from the stored timestamp text;
- ``discovery.py``: statements whose shape differs (set-returning JSON functions);
- ``json_values.py``: the JSON values both databases store alike, checked on the way in.

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
from convoscope.sql.json_values import INT64_MAX, INT64_MIN, check_document, first_unstorable
from convoscope.sql.sqlite_paths import PLAIN_KEY

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "PLAIN_KEY",
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
    "check_document",
    "first_unstorable",
    "object_keys",
]
