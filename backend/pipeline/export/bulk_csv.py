"""A Bulk 2.0 result page into a CSV export at the byte level: no parse, no re-encode, no pandas or pyarrow.

Salesforce quotes every value of a Bulk result page (an empty one as `""`, a quote inside doubled) and ends
lines with LF, which is exactly what the Arrow path (tables.csv_table, cells.prepare, CsvExportWriter.write)
writes back. So when a page's rows have that shape, `rows_as_written` returns them as they came, with the
formula escape's `'` put after the opening quote of each risky cell: the bytes the Arrow path would write
(tests/pipeline/test_export_bytes.py runs pages through both). It returns None, and the page takes the Arrow
path, when it cannot be sure:
- a row that is not n quoted cells (n = the SELECT items), or a header of another width;
- a datetime column cell that is not empty and not UTC with a `Z` (cells.prepare would rewrite it), or a time
  zone to convert datetimes to;
- risky starts both in number columns (exempt from the escape: a negative number) and in text columns of one
  page: which of them are numbers would take a parse to tell.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache

from backend.pipeline.export.soql import NUMERIC_TYPES, Column

_RISKY = rb"=+\-@\t\r\x00"  # as cells._RISKY_FIRST
_CELL = rb'"[^"]*+(?:""[^"]*+)*+"'  # possessive: no backtracking state kept over a 10 MB page
_UTC = rb'"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)?"'  # cells._datetimes writes these as they are
_SAFE = rb'"(?:[^"' + _RISKY + rb'][^"]*+)?(?:""[^"]*+)*+"'  # a quoted cell that does not start risky
# An opening quote then a risky byte. In a page of quoted cells a quote preceded by `,` or LF opens a cell
# (inside a cell every quote is doubled), so the caller keeps the matches whose byte before is one of them.
_QUOTE_THEN_RISKY = re.compile(rb'"[' + _RISKY + rb"]")


def rows_as_written(body: bytes, columns: list[Column], *, local_time: bool) -> list[bytes | memoryview] | None:
    """The page's rows (its header line left out) as the pieces to write, in order; None: use the Arrow path."""
    kinds = tuple(c.type for c in columns)
    if local_time and "datetime" in kinds:
        return None
    end = body.find(b"\n")
    if end < 0 or len(next(csv.reader([bytes(body[:end]).decode("utf-8-sig")]))) != len(kinds):
        return None
    if _grammar(kinds, "").fullmatch(body, end + 1) is None:
        return None
    cuts = [m.start() + 1 for m in _QUOTE_THEN_RISKY.finditer(body, end) if body[m.start() - 1] in b",\n"]
    if cuts and any(k in NUMERIC_TYPES for k in kinds) and not _grammar(kinds, "numbers").fullmatch(body, end + 1):
        if not _grammar(kinds, "text").fullmatch(body, end + 1):
            return None
        cuts = []  # every risky start is a number's: nothing to escape
    view, pieces, start = memoryview(body), [], end + 1
    for cut in cuts:
        pieces += [view[start:cut], b"'"]
        start = cut
    pieces.append(view[start:])
    if not body.endswith(b"\n"):
        pieces.append(b"\n")
    return pieces


@lru_cache(maxsize=32)
def _grammar(kinds: tuple[str, ...], safe: str) -> re.Pattern[bytes]:
    """Rows of len(kinds) quoted cells, LF after each (the last may lack it); datetimes only as `_UTC`, and
    the cells of `safe` ("numbers" or "text" columns) only as `_SAFE`."""
    def cell(kind: str) -> bytes:
        if kind == "datetime":
            return _UTC
        number = kind in NUMERIC_TYPES
        return _SAFE if (safe == "numbers" and number) or (safe == "text" and not number) else _CELL

    row = b",".join(cell(k) for k in kinds)
    return re.compile(b"(?:" + row + b"\n)*+(?:" + row + b")?")
