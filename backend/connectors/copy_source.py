"""A CSV source over a stream a database produces (PostgreSQL COPY): the columns are known up front."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from backend.pipeline.sources.csv import CsvSource


class CopyCsvSource(CsvSource):
    """The CSV engine on COPY output: UTF-8, comma, header; `columns()` without running the query.

    Not registered as a source type: it exists only inside a connector's read.
    """

    label = "Database table"

    def __init__(self, columns: list[str], open_stream: Callable[[], BinaryIO]) -> None:
        super().__init__({"encoding": "utf-8", "delimiter": ","}, open_stream=open_stream)
        self._columns = list(columns)

    def columns(self) -> list[str]:
        return list(self._columns)
