"""PostgreSQL's rows streamed as Arrow batches (ADBC, binary COPY): every row of a result many batches long
arrives, in order and numbered; NULL is an empty cell; a statement that fails after megabytes of rows fails
the read with the server's words, not a short import; a reader that stops early lets go of the server."""

from __future__ import annotations

import time

import psycopg
import pytest

from backend.connectors import ConnectorError, create_connector

ROWS = 60_000  # about 7 MB: two of the driver's batches, two chunks


def _source(params: dict, query: str):
    return create_connector("postgresql", params, allow_loopback=True).source({"query": query})


def test_a_result_of_many_batches_arrives_whole_in_order_and_numbered(postgres_params: dict) -> None:
    source = _source(postgres_params, f"SELECT g AS n, repeat('x', 100) || ',\"' AS pad, "
                                      f"CASE WHEN g % 7 = 0 THEN NULL ELSE 'v' END AS maybe "
                                      f"FROM generate_series(1, {ROWS}) g ORDER BY g")
    numbers, pads, rows, chunks = [], set(), [], 0
    for chunk in source.read():
        chunks += 1
        numbers.extend(int(n) for n in chunk.frame["n"])
        pads.update(chunk.frame["pad"])
        rows.extend(int(r) for r in chunk.row_numbers)
        expected = ["" if int(n) % 7 == 0 else "v" for n in chunk.frame["n"]]
        assert list(chunk.frame["maybe"]) == expected  # NULL is an empty cell, never NA
    assert chunks > 1
    assert numbers == list(range(1, ROWS + 1))
    assert rows == list(range(2, ROWS + 2))  # as the rows of a CSV file with a header: the first is 2
    assert pads == {"x" * 100 + ',"'}


def test_a_statement_failing_midway_fails_the_read_with_the_servers_words(postgres_params: dict) -> None:
    source = _source(postgres_params, f"SELECT g AS n, repeat('x', 100) AS pad, 1 / ({ROWS} - g) AS d "
                                      f"FROM generate_series(1, {ROWS}) g")
    with pytest.raises(ConnectorError) as caught:
        for _ in source.read():
            pass
    assert caught.value.stage == "query" and "division by zero" in str(caught.value)


def test_a_reader_that_stops_early_lets_go_of_the_server(postgres_params: dict) -> None:
    marker = "inflow_stops_early"
    source = _source(postgres_params, f"SELECT g AS n, '{marker}' AS tag, repeat('x', 200) AS pad "
                                      "FROM generate_series(1, 2000000) g")
    reader = source.read()
    assert len(next(reader)) > 0
    reader.close()  # as a preview does after its first rows
    p = postgres_params
    with psycopg.connect(host=p["host"], port=p["port"], dbname=p["database"], user=p["user"],
                         autocommit=True) as watcher:
        deadline = time.monotonic() + 30
        while watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()",
                              (f"%{marker}%",)).fetchone()[0]:
            assert time.monotonic() < deadline, "the server still runs the query after the reader stopped"
            time.sleep(0.1)


def test_the_drivers_connection_string_gives_libpq_every_value_as_written() -> None:
    from psycopg.conninfo import conninfo_to_dict

    from backend.connectors.postgres import _conninfo

    values = {"host": "db.example.com", "user": "o'brien", "password": "p\\a ss'w=rd",  # pragma: allowlist secret
              "dbname": "sales db", "options": "-c TimeZone=America/New_York -c statement_timeout=5000"}
    assert conninfo_to_dict(_conninfo(values)) == values
