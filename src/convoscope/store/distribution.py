"""How the schema spreads over a Citus cluster: distributed on ``project_id``, co-located.

Citus shards a distributed table by one column and keeps the rows of one value of it on
one node, so a project's conversations, messages, feedback and events sit together and
every query, which names one project, runs on one node. That holds only while:

- every project-owned table carries ``project_id``;
- every primary key, unique constraint and unique index includes it (a node can check
  uniqueness only among the rows it holds);
- every foreign key between project-owned tables includes it on both sides;
- the small tables every project shares are *reference tables*, copied to every node;
  a project-owned table may point at one, never the other way round.

``schema_problems`` checks the live schema against these rules, so a table or constraint
that breaks them fails the test suite before it reaches a deployment; ``distribute``
makes the Citus calls (``docs/citus.md`` is the runbook).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, inspect, text

from convoscope.errors import ConvoscopeError

DISTRIBUTION_COLUMN = "project_id"

# Small, shared, read on every request: copied whole to every node. api_keys and the
# dashboard's sign-in tables are here because a key, link or session is looked up by its
# hash (a person by their email) before its project is known, so those are unique across
# projects, which only a reference table may be.
REFERENCE_TABLES = frozenset(
    {
        "organizations",
        "projects",
        "integrations",
        "api_keys",
        "path_indexes",
        "dashboard_users",
        "project_members",
        "signin_links",
        "dashboard_sessions",
        "server_secrets",
    }
)

# The schema's own bookkeeping stays a plain table on the coordinator.
LOCAL_TABLES = frozenset({"alembic_version"})

# Co-located with this one, so joins on (project_id, conversation_id) stay on one node.
COLOCATION_ANCHOR = "conversations"


@dataclass(frozen=True)
class Plan:
    """The Citus calls for a schema, in an order Citus accepts (parents before children)."""

    reference: tuple[str, ...]
    distributed: tuple[str, ...]


class CitusMissing(ConvoscopeError):
    status = 400
    title = "Citus is not installed"


def schema_problems(conn: Connection) -> list[str]:
    """Every table and constraint of the live schema that Citus could not distribute."""
    inspector = inspect(conn)
    problems: list[str] = []
    for table in sorted(inspector.get_table_names()):
        if table in LOCAL_TABLES:
            continue
        columns = {column["name"] for column in inspector.get_columns(table)}
        reference = table in REFERENCE_TABLES
        if not reference and DISTRIBUTION_COLUMN not in columns:
            problems.append(
                f"{table}: no {DISTRIBUTION_COLUMN} column; add one, or list the table "
                "in REFERENCE_TABLES if every project shares it"
            )
            continue
        for foreign_key in inspector.get_foreign_keys(table):
            target = foreign_key["referred_table"]
            if target in REFERENCE_TABLES:
                continue
            if reference:
                problems.append(f"{table}: a reference table points at {target}")
            elif not (
                DISTRIBUTION_COLUMN in foreign_key["constrained_columns"]
                and DISTRIBUTION_COLUMN in foreign_key["referred_columns"]
            ):
                problems.append(
                    f"{table}: foreign key {foreign_key['name']} to {target} leaves out "
                    f"{DISTRIBUTION_COLUMN}"
                )
        if reference:
            continue
        primary_key = inspector.get_pk_constraint(table)
        if DISTRIBUTION_COLUMN not in primary_key["constrained_columns"]:
            problems.append(f"{table}: primary key leaves out {DISTRIBUTION_COLUMN}")
        for unique in inspector.get_unique_constraints(table):
            if DISTRIBUTION_COLUMN not in unique["column_names"]:
                problems.append(
                    f"{table}: unique constraint {unique['name']} leaves out {DISTRIBUTION_COLUMN}"
                )
        for index in inspector.get_indexes(table):
            if index.get("duplicates_constraint"):
                continue  # a unique constraint's own index, checked above
            if index["unique"] and DISTRIBUTION_COLUMN not in index["column_names"]:
                problems.append(
                    f"{table}: unique index {index['name']} leaves out {DISTRIBUTION_COLUMN}"
                )
    return problems


def plan(conn: Connection) -> Plan:
    """Which tables become reference tables and which are distributed, in order."""
    inspector = inspect(conn)
    tables = set(inspector.get_table_names()) - LOCAL_TABLES
    parents = {
        table: {fk["referred_table"] for fk in inspector.get_foreign_keys(table)} - {table}
        for table in tables
    }
    ordered = _parents_first(sorted(tables), parents)
    reference = tuple(table for table in ordered if table in REFERENCE_TABLES)
    distributed = [table for table in ordered if table not in REFERENCE_TABLES]
    # The anchor first: the others are co-located with it.
    if COLOCATION_ANCHOR in distributed:
        distributed.remove(COLOCATION_ANCHOR)
        distributed.insert(0, COLOCATION_ANCHOR)
    return Plan(reference=reference, distributed=tuple(distributed))


def distribute(conn: Connection) -> list[str]:
    """Make the Citus calls for every table not yet distributed; returns what it did.

    Refuses on a database without the ``citus`` extension, and on a schema that breaks
    the rules above (distributing it would fail halfway).
    """
    if conn.dialect.name != "postgresql":
        raise CitusMissing("Citus distributes PostgreSQL tables; this database is SQLite")
    installed = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")).first()
    if installed is None:
        raise CitusMissing(
            "the citus extension is not installed in this database: install Citus on "
            "every node, then run CREATE EXTENSION citus (see docs/citus.md)"
        )
    problems = schema_problems(conn)
    if problems:
        raise ConvoscopeError("the schema cannot be distributed:\n" + "\n".join(problems))
    done = _already_distributed(conn)
    steps = plan(conn)
    made: list[str] = []
    for table in steps.reference:
        if table not in done:
            conn.execute(text("SELECT create_reference_table(:t)"), {"t": table})
            made.append(f"reference table {table}")
    for table in steps.distributed:
        if table in done:
            continue
        colocate = "none" if table == COLOCATION_ANCHOR else COLOCATION_ANCHOR
        conn.execute(
            text("SELECT create_distributed_table(:t, :column, colocate_with => :with)"),
            {"t": table, "column": DISTRIBUTION_COLUMN, "with": colocate},
        )
        made.append(f"distributed table {table} on {DISTRIBUTION_COLUMN}")
    return made


def _already_distributed(conn: Connection) -> set[str]:
    rows = conn.execute(text("SELECT logicalrelid::regclass::text FROM pg_dist_partition"))
    return {str(name) for (name,) in rows}


def _parents_first(tables: Sequence[str], parents: dict[str, set[str]]) -> list[str]:
    ordered: list[str] = []
    placed: set[str] = set()

    def place(table: str, seen: Iterable[str]) -> None:
        if table in placed or table in seen:
            return
        for parent in sorted(parents.get(table, ())):
            place(parent, {*seen, table})
        placed.add(table)
        ordered.append(table)

    for table in tables:
        place(table, ())
    return ordered
