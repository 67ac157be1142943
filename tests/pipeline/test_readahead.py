"""read_ahead: chunks come in order, a source's error surfaces where its chunk would, stopping early
releases the source."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest

from backend.errors import SourceError
from backend.pipeline.sources import create_source
from backend.readahead import read_ahead


def test_chunks_of_a_csv_come_in_order_and_complete() -> None:
    data = ("id,name\n" + "".join(f"{i},n{i}\n" for i in range(5000))).encode()
    source = create_source("csv", {}, open_stream=lambda: io.BytesIO(data), chunk_size=1000)
    chunks = list(read_ahead(source.read()))
    assert [len(c) for c in chunks] == [1000] * 5
    assert [c.frame["id"].iloc[0] for c in chunks] == ["0", "1000", "2000", "3000", "4000"]


def test_an_error_of_the_source_is_raised_after_the_chunks_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise SourceError("Line 3: broken.")
    got = []
    with pytest.raises(SourceError, match="Line 3"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_closes_the_source_and_ends_the_thread() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(1_000_000)
        finally:
            closed.set()
    it = read_ahead(items())
    assert [next(it), next(it)] == [0, 1]
    it.close()
    assert closed.is_set()
    assert not any(t.name == "read-ahead" for t in threading.enumerate())
