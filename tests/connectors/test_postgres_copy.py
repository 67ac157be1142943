"""PostgreSQL's COPY stream read in large blocks: every row of a result many blocks long arrives, in order, and a
statement that fails after megabytes of rows fails the read with the server's words, not a short import."""

from __future__ import annotations

import pytest

from backend.connectors import ConnectorError, create_connector

ROWS = 60_000  # about 7 MB of CSV: several 1 MiB blocks


def _source(params: dict, query: str):
    return create_connector("postgresql", params, allow_loopback=True).source({"query": query})


def test_a_result_of_many_blocks_arrives_whole_and_in_order(postgres_params: dict) -> None:
    source = _source(postgres_params, f"SELECT g AS n, repeat('x', 100) || ',\"' AS pad "
                                      f"FROM generate_series(1, {ROWS}) g")
    numbers, pads = [], set()
    for chunk in source.read():
        numbers.extend(int(n) for n in chunk.frame["n"])
        pads.update(chunk.frame["pad"])
    assert numbers == list(range(1, ROWS + 1))
    assert pads == {"x" * 100 + ',"'}  # quotes and commas survive the block boundaries


def test_a_statement_failing_midway_fails_the_read_with_the_servers_words(postgres_params: dict) -> None:
    source = _source(postgres_params, f"SELECT g AS n, repeat('x', 100) AS pad, 1 / ({ROWS} - g) AS d "
                                      f"FROM generate_series(1, {ROWS}) g")
    with pytest.raises(ConnectorError) as caught:
        for _ in source.read():
            pass
    assert caught.value.stage == "query" and "division by zero" in str(caught.value)
