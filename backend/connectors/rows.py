"""A Source over rows a database cursor yields: values rendered as the text Salesforce takes, in chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from backend.pipeline.chunk import Chunk, frame_from_columns
from backend.pipeline.sources.base import Source

OpenRows = Callable[[], Iterator[Sequence[Any]]]


def render(value: Any, zone: ZoneInfo | None = None) -> str:
    """One value as text: NULL as empty, decimals exactly, booleans true/false, dates and times ISO 8601.

    An aware datetime is converted to `zone` (the job's time zone) and keeps its offset.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")  # never through float; no exponent (1E+3 -> 1000)
    if isinstance(value, datetime):
        if value.tzinfo is not None and zone is not None:
            value = value.astimezone(zone)
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return str(value)


class RowSource(Source):
    """Rows from `open_rows` (a fresh cursor iterator per call), `columns` known up front.

    Row numbers count as in a CSV file with a header row: the first row is 2. `converters` maps a
    column index to a function applied before `render` (e.g. attach UTC to a MySQL TIMESTAMP).
    """

    label = "Database table"

    def __init__(self, columns: list[str], open_rows: OpenRows, *, zone: ZoneInfo | None = None,
                 converters: dict[int, Callable[[Any], Any]] | None = None, chunk_size: int | None = None) -> None:
        super().__init__({}, chunk_size=chunk_size)
        self._columns, self._open_rows, self.zone = list(columns), open_rows, zone
        self.converters = converters or {}

    def columns(self) -> list[str]:
        return list(self._columns)

    def test_connection(self) -> None:
        next(iter(self.read()), None)

    def read(self) -> Iterator[Chunk]:
        size, line, rows = self.chunk_rows(len(self._columns)), 2, []
        rows_iter = self._open_rows()
        try:
            for row in rows_iter:
                rows.append(row)
                if len(rows) >= size:
                    yield self._chunk(rows, line)
                    line, rows = line + len(rows), []
            if rows:
                yield self._chunk(rows, line)
        finally:
            close = getattr(rows_iter, "close", None)
            if close is not None:
                close()

    def _chunk(self, rows: list[Sequence[Any]], first_line: int) -> Chunk:
        zone, columns = self.zone, []
        for i, values in enumerate(zip(*rows, strict=True)):
            conv = self.converters.get(i)
            if conv is not None:
                values = [conv(v) for v in values]
            columns.append([v if type(v) is str else render(v, zone) for v in values])
        frame = frame_from_columns(self._columns, columns)
        return Chunk(frame, np.arange(first_line, first_line + len(rows), dtype=np.int64), [])
