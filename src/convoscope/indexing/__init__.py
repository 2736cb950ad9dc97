"""JSON path indexes and the advisor that makes them after slow queries.

Above both the query compiler (whose field names and JSON expressions an index mirrors)
and the store (whose tables it indexes and whose writer builds it):

- ``path_indexes``: define, create, drop, list the indexes; ``path_columns`` for the compiler;
- ``advisor.PathAdvisor``: index (or advise) the paths of slow queries, once across processes;
- ``migrate``: the migrations with the indexes set aside and rebuilt.
"""
