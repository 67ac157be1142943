"""Success and error files: CSV bytes written incrementally to a caller's binary stream.

Layout follows the Bulk API result files: the `sf__` columns first, then every original column in
source order. Success file: `sf__Id, sf__Created, <original columns>`. Error file:
`sf__Row, sf__Error, <original columns>`, where `sf__Row` is the source line (CSV) or sheet row
(Excel). Cells that a spreadsheet would run as a formula get a leading `'` (`cells.escape`, which reading
reverses). Files are UTF-8 with a BOM so Excel opens accents correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import BinaryIO

import pandas as pd

from backend.pipeline.cells import ERROR_COLUMNS, SUCCESS_COLUMNS, escape_frame
from backend.pipeline.cells import escape as escape_cell
from backend.pipeline.mapping.mapper import RowError


class _CsvWriter:
    def __init__(self, stream: BinaryIO, columns: Sequence[str], prefix: Sequence[str], bom: bool) -> None:
        self.stream = stream
        self.columns = list(columns)
        self.rows = 0
        header = [escape_cell(c) for c in [*prefix, *self.columns]]
        self._emit([header], b"\xef\xbb\xbf" if bom else b"")

    def _emit(self, rows: Iterable[Sequence[str]], lead: bytes = b"") -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        self.stream.write(lead + buf.getvalue().encode("utf-8"))

    def _write_frame(self, prefix: list[Sequence[str]], source: pd.DataFrame) -> None:
        body = escape_frame(source.reindex(columns=self.columns))
        parts = [list(p) for p in prefix] + [body[c].tolist() for c in self.columns]
        self._emit(zip(*parts, strict=True))
        self.rows += len(source)


class SuccessFileWriter(_CsvWriter):
    """Rows Salesforce accepted: `write(source, ids, created)` once per chunk."""

    def __init__(self, stream: BinaryIO, columns: Sequence[str], *, bom: bool = True) -> None:
        super().__init__(stream, columns, SUCCESS_COLUMNS, bom)

    def write(self, source: pd.DataFrame, ids: Sequence[str], created: Sequence[bool]) -> None:
        """`source` holds the original values of the rows (MappedChunk.source, possibly a subset)."""
        self._write_frame([[escape_cell(i) for i in ids], ["true" if c else "false" for c in created]], source)


class ErrorFileWriter(_CsvWriter):
    """Rows that failed: from the mapping (`write_errors`) or from Salesforce (`write`)."""

    def __init__(self, stream: BinaryIO, columns: Sequence[str], *, bom: bool = True) -> None:
        super().__init__(stream, columns, ERROR_COLUMNS, bom)

    def write(self, source: pd.DataFrame, row_numbers: Sequence[int], messages: Sequence[str]) -> None:
        self._write_frame([[str(int(n)) for n in row_numbers], [escape_cell(m) for m in messages]], source)

    def write_errors(self, errors: Iterable[RowError]) -> None:
        rows = [[str(e.row_number), escape_cell(e.message), *(escape_cell(e.values.get(c)) for c in self.columns)]
                for e in errors]
        if rows:
            self._emit(rows)
            self.rows += len(rows)
