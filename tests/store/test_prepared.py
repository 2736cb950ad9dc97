"""Prepared statements store and read exactly what ``Connection.execute`` would, on both
engines: the same bytes in every column, the same values back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    cast,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy import Text as TextType
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.exc import IntegrityError

from convoscope.store import prepared as prepared_module
from convoscope.store.prepared import Prepared, in_list, in_params, pipelined
from convoscope.store.types import JsonDoc, UtcDateTime

scratch = MetaData()
samples = Table(
    "prepared_samples",
    scratch,
    Column("id", String(64), primary_key=True),
    Column("label", String(200)),
    Column("doc", JsonDoc),
    Column("at", UtcDateTime),
    Column("state", String(16)),
    Column("n", Integer),
)
defaulted = Table(
    "prepared_defaulted",
    scratch,
    Column("id", String(64), primary_key=True),
    Column("n", Integer, default=7),
)

ROWS: list[dict[str, Any]] = [
    {
        "id": "a",
        "label": "naïve – ünïcode 🎉",
        "doc": {"plan": "pro", "nested": {"list": [1, 2.5, None, "x"]}, "k.dot": "q'\""},
        "at": datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
        "state": None,
        "n": 1,
    },
    {"id": "b", "label": None, "doc": None, "at": None, "state": "x", "n": None},
    {
        "id": "c",
        "label": "",
        "doc": [],
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "state": "",
        "n": 0,
    },
]


@pytest.fixture
def tables(engine: Engine) -> Engine:
    scratch.create_all(engine)
    return engine


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    """Every column as the database holds it (JSON and times as text)."""
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(
                    samples.c.id,
                    samples.c.label,
                    cast(samples.c.doc, TextType),
                    cast(samples.c.at, TextType),
                    samples.c.state,
                    samples.c.n,
                ).order_by(samples.c.id)
            )
        ]


def test_rows_inserted_are_byte_for_byte_those_of_connection_execute(tables: Engine) -> None:
    with tables.begin() as conn:
        conn.execute(insert(samples), ROWS)
    expected = stored(tables)
    with tables.begin() as conn:
        conn.execute(delete(samples))
    with tables.begin() as conn:
        Prepared(insert(samples)).executemany(conn, ROWS)
    assert stored(tables) == expected


def test_values_read_back_are_converted_like_connection_execute(tables: Engine) -> None:
    with tables.begin() as conn:
        Prepared(insert(samples)).executemany(conn, ROWS)
    query = select(samples).where(samples.c.id == bindparam("id"))
    prepared = Prepared(query)
    with tables.connect() as conn:
        for row in ROWS:
            expected = tuple(conn.execute(query, {"id": row["id"]}).one())
            assert prepared.first(conn, {"id": row["id"]}) == expected
        assert prepared.first(conn, {"id": "missing"}) is None
    assert expected[3] == datetime(2026, 1, 1, tzinfo=UTC)


def test_insert_rows_stores_what_executemany_stores_in_chunks(
    tables: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tables.begin() as conn:
        conn.execute(insert(samples), ROWS)
    expected = stored(tables)
    with tables.begin() as conn:
        conn.execute(delete(samples))
    # Two rows a statement: one full chunk and a last one of a single row.
    monkeypatch.setattr(prepared_module, "_ROWS_PER_INSERT", 2)
    with tables.begin() as conn, pipelined(conn):
        Prepared(insert(samples)).insert_rows(conn, ROWS)
    assert stored(tables) == expected
    with pytest.raises(IntegrityError), tables.begin() as conn, pipelined(conn):
        Prepared(insert(samples)).insert_rows(conn, [{**ROWS[1], "id": "d"}, ROWS[0]])
    assert stored(tables) == expected


def test_insert_compiles_only_the_columns_given(tables: Engine) -> None:
    insert_some = Prepared(insert(samples))
    with tables.begin() as conn:
        insert_some.execute(conn, {"id": "only-id"})
        insert_some.execute(conn, {"id": "with-n", "n": 5})
    with tables.connect() as conn:
        assert conn.execute(select(samples.c.id, samples.c.n).order_by(samples.c.id)).all() == [
            ("only-id", None),
            ("with-n", 5),
        ]


def test_values_fixed_in_the_statement_are_sent_and_rowcount_returned(tables: Engine) -> None:
    with tables.begin() as conn:
        Prepared(insert(samples)).executemany(conn, ROWS)
    mark = Prepared(
        update(samples)
        .where(samples.c.n == bindparam("where_n"))
        .values(state="marked", at=datetime(2026, 5, 5, tzinfo=UTC))
    )
    with tables.begin() as conn:
        assert mark.execute(conn, {"where_n": 0}) == 1
        assert mark.execute(conn, {"where_n": 99}) == 0
    with tables.connect() as conn:
        row = conn.execute(select(samples.c.state, samples.c.at).where(samples.c.id == "c")).one()
    assert tuple(row) == ("marked", datetime(2026, 5, 5, tzinfo=UTC))


def test_in_lists_and_returning(tables: Engine) -> None:
    with tables.begin() as conn:
        Prepared(insert(samples)).executemany(conn, ROWS)
    pick = Prepared(
        select(samples.c.id).where(in_list(samples.c.id, "id", 2)).order_by(samples.c.id)
    )
    remove = Prepared(
        delete(samples).where(samples.c.id == bindparam("id")).returning(samples.c.at)
    )
    with tables.begin() as conn:
        assert pick.all(conn, in_params("id", ["c", "a"])) == [("a",), ("c",)]
        assert remove.all(conn, {"id": "c"}) == [(datetime(2026, 1, 1, tzinfo=UTC),)]
        assert pick.all(conn, in_params("id", ["c", "a"])) == [("a",)]


def test_a_python_side_default_is_refused(tables: Engine) -> None:
    with tables.begin() as conn, pytest.raises(TypeError, match="Python-side column default"):
        Prepared(insert(defaulted)).execute(conn, {"id": "x"})


def test_writes_roll_back_with_the_callers_transaction(tables: Engine) -> None:
    with pytest.raises(RuntimeError), tables.begin() as conn:
        Prepared(insert(samples)).executemany(conn, ROWS)
        raise RuntimeError("abandon")
    assert stored(tables) == []


def test_sqlite_keeps_sqlalchemys_text_format_for_times(tables: Engine, dialect: str) -> None:
    if dialect != "sqlite":
        pytest.skip("PostgreSQL stores timestamptz, not text")
    with tables.begin() as conn:
        Prepared(insert(samples)).executemany(conn, ROWS)
    # Converted to UTC, microseconds always written: the text sorts as the time does.
    assert [row[3] for row in stored(tables)] == [
        "2026-03-01 10:30:15.123456",
        None,
        "2026-01-01 00:00:00.000000",
    ]


def test_driver_errors_arrive_as_sqlalchemys(tables: Engine) -> None:
    with pytest.raises(IntegrityError), tables.begin() as conn:
        Prepared(insert(samples)).executemany(conn, [ROWS[0], ROWS[0]])
    assert stored(tables) == []


def test_pipelined_writes_land_and_a_failure_surfaces_by_the_end(tables: Engine) -> None:
    write = Prepared(insert(samples))
    with tables.begin() as conn, pipelined(conn):
        write.executemany(conn, ROWS[:2])
        write.execute(conn, ROWS[2])
    assert [row[0] for row in stored(tables)] == ["a", "b", "c"]
    with pytest.raises(IntegrityError), tables.begin() as conn, pipelined(conn):
        write.execute(conn, {"id": "d"})
        write.execute(conn, ROWS[0])
        write.execute(conn, {"id": "e"})
    assert [row[0] for row in stored(tables)] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "text_",
    [
        pytest.param("2026-03-01 10:30:15.123456", id="as-written"),
        pytest.param("2026-03-01 10:30:15", id="without-microseconds"),
        pytest.param("2026-03-01T10:30:15.5", id="another-spelling"),
    ],
)
def test_sqlite_times_read_back_as_utc_however_the_text_was_written(text_: str) -> None:
    read = UtcDateTime().result_processor(sqlite_dialect(), None)
    assert read is not None
    value = read(text_)
    assert value == datetime.fromisoformat(text_).replace(tzinfo=UTC)
    assert value.tzinfo is UTC
