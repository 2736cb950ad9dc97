"""Indexes on one JSON path of a JSON column, such as conversations' userProperties.company.

Grouping a million conversations by a user property reads and parses every row's JSON
and sorts a million keys: about 800 ms on SQLite. With the path indexed, SQLite reads the
index already grouped: 81 ms. The operator chooses the paths (``convoscope indexes``),
or the server does after slow queries (``advisor.py``).

- SQLite: a virtual generated column holding exactly what the query compiler computes
  for the path, and an index on (project_id, that column). The compiler then reads the
  column (see ``path_columns``); SQLite would match an indexed expression only if the
  query spelled the path as a literal, and query paths are bound parameters. Each index
  costs every write to its table one more JSON read and index entry.
- PostgreSQL: statistics on the same expression (CREATE STATISTICS), not an index. With
  an expression index its planner still read the table in parallel (an index-only scan
  of an expression needs the column it reads in the index); what had made it slow was
  not knowing how many values the path holds. Guessing one per row, it planned a hash
  aggregate that spilled to disk: 355 ms over 1M rows, 212 ms with the statistics (the
  same with the index), at no cost to writes. Readers plan with their parameters'
  values, so the statistics apply to the bound path.

The catalog (``path_indexes``) is the server's, not a project's: each index spans every
project, led by project_id. Migrations set the indexes aside and rebuild them after (a
migration may rebuild a table); ``reconcile`` builds whatever the catalog names and the
schema lacks.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    Text,
    column,
    insert,
    inspect,
    select,
    update,
)

from convoscope.query import VIEWS, Kind, PathColumns, Resource
from convoscope.sql import PLAIN_KEY, JsonValue
from convoscope.store import writer_connection
from convoscope.store.tables import path_indexes

OPERATOR, SERVER = "operator", "server"
ACTIVE, DECLINED = "active", "declined"

MAX_DEPTH = 8
INDEXABLE = ("conversations", "events", "feedback")


class PathIndexError(ValueError):
    """A path index that cannot be made as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class PathIndex:
    resource: str
    field: str
    path: tuple[str, ...]
    table: str
    column: str
    created_at: datetime | None = None
    created_by: str = OPERATOR

    @property
    def digest(self) -> str:
        spelled = orjson.dumps([self.table, self.column, list(self.path)])
        return hashlib.sha256(spelled).hexdigest()[:16]

    @property
    def generated_column(self) -> str:
        return f"jp_{self.digest}"

    @property
    def index_name(self) -> str:
        return f"ix_{self.table}_jp_{self.digest}"

    @property
    def statistics_name(self) -> str:
        return f"st_{self.table}_jp_{self.digest}"

    def schema_name(self, dialect: str) -> str:
        """What stands for the index in the schema: SQLite's index, PostgreSQL's
        statistics."""
        return self.index_name if dialect == "sqlite" else self.statistics_name

    @property
    def label(self) -> str:
        return ".".join((self.resource, self.field, *self.path))


def define(resource_name: str, field_name: str, path: Sequence[str]) -> PathIndex:
    """The index of ``resource.field.path``, checked; raises PathIndexError."""
    if resource_name not in INDEXABLE:
        raise PathIndexError(
            f"resource {resource_name!r} cannot be indexed; choose one of: " + ", ".join(INDEXABLE)
        )
    resource: Resource = VIEWS[f"{resource_name}_view"]
    field = resource.fields.get(field_name)
    if field is None or field.kind is not Kind.OBJECT:
        choices = ", ".join(n for n, f in resource.fields.items() if f.kind is Kind.OBJECT)
        what = "is not a JSON object" if field else "does not exist"
        raise PathIndexError(
            f"field {field_name!r} of {resource_name} {what}; choose one of: {choices}"
        )
    keys = tuple(path)
    if not keys:
        raise PathIndexError("give the path: at least one key, e.g. company")
    if len(keys) > MAX_DEPTH:
        raise PathIndexError(f"a path has at most {MAX_DEPTH} keys; this one has {len(keys)}")
    if any("\x00" in key for key in keys):
        raise PathIndexError("a key cannot contain U+0000")
    return PathIndex(resource_name, field_name, keys, resource.table.name, field.column().name)


def value_sql(index: PathIndex, bind: Engine | Connection) -> str:
    """The SQL of the path's value as the query compiler writes it, with the path spelled
    as literals: the same expression, so the index holds what queries compute."""
    value = JsonValue(column(index.column, Text), index.path)
    compiled = value.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


def list_indexes(engine: Engine) -> list[PathIndex]:
    with engine.connect() as conn:
        return _catalog(conn)


def path_columns(conn: Connection) -> PathColumns:
    """The generated columns the compiler may read in place of JSON paths (SQLite only).

    Read in the query's own transaction, so a column dropped meanwhile is never named;
    only indexes present in the schema count, should the catalog name one that is not."""
    if conn.dialect.name != "sqlite":
        return {}
    catalog = _catalog(conn)
    present = _present(conn) if catalog else set()
    return {
        (i.table, i.column, i.path): i.generated_column for i in catalog if i.index_name in present
    }


def create(engine: Engine, index: PathIndex) -> bool:
    """Build the index (statistics on PostgreSQL); False when it already existed."""
    if engine.dialect.name == "sqlite":
        _check_sqlite_path(index)
    # On SQLite, the write lock from the start: a deferred transaction that read first
    # could not take it once the server had written meanwhile. Writes wait while it builds.
    with writer_connection(engine) as conn, conn.begin():
        return _create(conn, index, OPERATOR)


def create_for_server(
    conn: Connection, index: PathIndex, *, max_rows: int, per_table: int
) -> str | None:
    """In the writer's transaction, build an index the server chose to make. Returns
    None when built, "" when it exists already, else why not, as a clause for the log."""
    found = _find(conn, index)
    if found is not None:
        return "the operator dropped it" if found[1] == DECLINED else ""
    if conn.dialect.name == "sqlite":
        try:
            _check_sqlite_path(index)
        except PathIndexError as problem:
            return str(problem)
        rows = conn.exec_driver_sql(f'SELECT count(*) FROM "{index.table}"').scalar_one()
        if rows > max_rows:
            return (
                f"{index.table} holds {rows:,} rows, and SQLite's writes would wait while "
                "the index builds"
            )
    made = [i for i in _catalog(conn) if i.table == index.table and i.created_by == SERVER]
    if len(made) >= per_table:
        return f"the server has made {len(made)} indexes on {index.table} already"
    _create(conn, index, SERVER)
    return None


def drop(engine: Engine, index: PathIndex) -> bool:
    """Remove the index; False when there was none. The path is remembered as declined,
    so the server never makes it again; ``create`` makes it again."""
    with writer_connection(engine) as conn, conn.begin():
        found = _find(conn, index)
        if found is None or found[1] == DECLINED:
            return False
        conn.execute(
            update(path_indexes).where(path_indexes.c.name == index.digest).values(state=DECLINED)
        )
        _remove(conn, index)
    return True


def unindexed(
    conn: Connection, resource: str, paths: Sequence[tuple[str, tuple[str, ...]]]
) -> list[PathIndex]:
    """The indexes ``paths`` of ``resource`` would have, for those that have none."""
    if resource not in INDEXABLE or not paths:
        return []
    indexed = {i.digest for i in _catalog(conn)}
    out = []
    for field, path in dict.fromkeys(paths):
        try:
            index = define(resource, field, path)
        except PathIndexError:
            continue
        if index.digest not in indexed:
            out.append(index)
    return out


def command(index: PathIndex, verb: str = "create") -> str:
    """The command line that creates (or drops) ``index``."""
    return f"convoscope indexes {verb} {index.resource} {index.field} {shlex.join(index.path)}"


def _create(conn: Connection, index: PathIndex, created_by: str) -> bool:
    found = _find(conn, index)
    if found is not None and found[1] == ACTIVE:
        return False
    _build(conn, index)
    row = _row(index) | {"created_by": created_by, "state": ACTIVE}
    if found is None:
        conn.execute(insert(path_indexes).values(**row))
    else:
        conn.execute(update(path_indexes).where(path_indexes.c.name == index.digest).values(**row))
    return True


def set_aside(conn: Connection, *, dialects: Sequence[str]) -> None:
    """Before migrations: remove what the catalog built, which a table rebuild would not
    carry over, nor a downgrade past the catalog remove; ``reconcile`` builds it again."""
    if conn.dialect.name not in dialects or not _has_catalog(conn):
        return
    for index in _catalog(conn):
        _remove(conn, index)


def reconcile(conn: Connection) -> list[PathIndex]:
    """Build every catalogued index the schema lacks; returns those it built."""
    if not _has_catalog(conn):
        return []
    present = _present(conn)
    missing = [i for i in _catalog(conn) if i.schema_name(conn.dialect.name) not in present]
    for index in missing:
        _build(conn, index)
    return missing


def _check_sqlite_path(index: PathIndex) -> None:
    for key in index.path:
        if not PLAIN_KEY.match(key):
            raise PathIndexError(
                f"SQLite can index a path only when its keys are printable ASCII without "
                f'" or \\; {key!r} is not (on PostgreSQL any key can be indexed)'
            )


def _build(conn: Connection, index: PathIndex) -> None:
    """Build the index, and gather its statistics, on which the planner's use of it rests."""
    expression = value_sql(index, conn)
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(
            f'CREATE STATISTICS IF NOT EXISTS "{index.statistics_name}" '
            f'ON ({expression}) FROM "{index.table}"'
        )
        conn.exec_driver_sql(f'ANALYZE "{index.table}"')
        return
    if index.generated_column not in _sqlite_columns(conn, index.table):
        # VIRTUAL: SQLite cannot add a stored column; the index holds the values.
        conn.exec_driver_sql(
            f'ALTER TABLE "{index.table}" ADD COLUMN "{index.generated_column}" TEXT '
            f"GENERATED ALWAYS AS ({expression}) VIRTUAL"
        )
    conn.exec_driver_sql(
        f'CREATE INDEX IF NOT EXISTS "{index.index_name}" '
        f'ON "{index.table}" (project_id, "{index.generated_column}")'
    )
    conn.exec_driver_sql(f'ANALYZE "{index.index_name}"')


def _remove(conn: Connection, index: PathIndex) -> None:
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(f'DROP STATISTICS IF EXISTS "{index.statistics_name}"')
        return
    conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{index.index_name}"')
    if index.generated_column in _sqlite_columns(conn, index.table):
        conn.exec_driver_sql(f'ALTER TABLE "{index.table}" DROP COLUMN "{index.generated_column}"')


def _present(conn: Connection) -> set[str]:
    """The names of the SQLite indexes, or of the PostgreSQL statistics, in the schema."""
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        found = conn.exec_driver_sql(
            "SELECT stxname FROM pg_statistic_ext "
            "WHERE stxnamespace = to_regnamespace(current_schema())"
        )
    return set(found.scalars())


def _sqlite_columns(conn: Connection, table: str) -> set[str]:
    # table_xinfo: table_info leaves generated columns out.
    rows = conn.exec_driver_sql(f'PRAGMA table_xinfo("{table}")').mappings()
    return {row["name"] for row in rows}


def _row(index: PathIndex) -> dict[str, object]:
    return {
        "name": index.digest,
        "resource": index.resource,
        "field": index.field,
        "path": list(index.path),
        "created_at": datetime.now(UTC),
    }


def _has_catalog(conn: Connection) -> bool:
    return inspect(conn).has_table(path_indexes.name)


def _find(conn: Connection, index: PathIndex) -> tuple[PathIndex, str] | None:
    """The catalogued index and its state, active or declined."""
    for found, state in _catalog_rows(conn):
        if found.digest == index.digest:
            return found, state
    return None


def _catalog(conn: Connection) -> list[PathIndex]:
    """The active indexes, oldest first."""
    return [index for index, state in _catalog_rows(conn) if state == ACTIVE]


def _catalog_rows(conn: Connection) -> list[tuple[PathIndex, str]]:
    # The columns by name: this runs before pending migrations too (set_aside), against
    # the catalog as revision 0006 made it.
    c = path_indexes.c
    columns = (c.resource, c.field, c.path, c.created_by, c.state, c.created_at)
    rows = conn.execute(select(*columns).order_by(c.created_at)).mappings()
    return [
        (
            replace(
                define(row["resource"], row["field"], row["path"]),
                created_at=row["created_at"],
                created_by=row["created_by"],
            ),
            row["state"],
        )
        for row in rows
    ]
