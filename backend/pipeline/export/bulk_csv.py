"""A Bulk 2.0 result page into a CSV export at the byte level: no parse, no re-encode, no pandas or pyarrow.

Salesforce quotes every value of a Bulk result page (an empty one as `""`, a quote inside doubled) and ends
lines with LF, which is exactly what the Arrow path (tables.csv_table, cells.prepare, CsvExportWriter.write)
writes back. So when a page's rows have that shape, `rows_as_written` returns them as they came with two
edits, the ones the cell rules make: a `'` after the opening quote of each risky text cell (the formula
escape), and `Z` for the `+0000` that ends a UTC datetime. Those are the bytes the Arrow path would write
(tests/pipeline/test_export_bytes.py runs pages through both). It returns None, and the page takes the
Arrow path, when it cannot be sure:
- a row that is not n quoted cells (n = the SELECT items), or a header of another width;
- a datetime cell that is neither empty nor UTC (`Z` or `+0000`), or a time zone to convert datetimes to;
- a `+0000` datetime beside a text cell that ends like one;
- risky starts both in number columns (exempt from the escape: a negative number) and in text columns.
Which cell a match is in would take a parse to tell; the regular expressions below tell whole pages instead.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache

from backend.pipeline.export.soql import NUMERIC_TYPES, Column

_RISKY = rb"=+\-@\t\r\x00"  # as cells._RISKY_FIRST
_CELL = rb'"[^"]*+(?:""[^"]*+)*+"'  # possessive: no backtracking state kept over a 10 MB page
_SAFE = rb'"(?:[^"' + _RISKY + rb'][^"]*+)?(?:""[^"]*+)*+"'  # a cell that does not start risky
_NOT_UTC_END = rb'"[^"]*+(?:""[^"]*+)*+(?<!\+0000)"'  # a cell that does not end like a `+0000` datetime
_UTC = rb'"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|\+0000))?"'  # what cells._datetimes only re-zones
# An opening quote then a risky byte. In a page of quoted cells a quote preceded by `,` or LF opens a cell
# (inside a cell every quote is doubled), so the caller keeps the matches whose byte before is one of them.
_QUOTE_THEN_RISKY = re.compile(rb'"[' + _RISKY + rb"]")
_UTC_OFFSET_END = re.compile(rb'\+0000"(?=[,\n]|\Z)')  # a closing quote: an inner one would be doubled


def rows_as_written(body: bytes, columns: list[Column], *, local_time: bool) -> list[bytes | memoryview] | None:
    """The page's rows (its header line left out) as the pieces to write, in order; None: use the Arrow path."""
    kinds = tuple(c.type for c in columns)
    if local_time and "datetime" in kinds:
        return None
    end = body.find(b"\n")
    if end < 0 or len(next(csv.reader([bytes(body[:end]).decode("utf-8-sig")]))) != len(kinds):
        return None
    offsets = [m.start() for m in _UTC_OFFSET_END.finditer(body, end)] if "datetime" in kinds else []
    if not _grammar(kinds, "offsets" if offsets else "").fullmatch(body, end + 1):
        return None
    cuts = [m.start() + 1 for m in _QUOTE_THEN_RISKY.finditer(body, end) if body[m.start() - 1] in b",\n"]
    if cuts and any(k in NUMERIC_TYPES for k in kinds) and not _grammar(kinds, "numbers").fullmatch(body, end + 1):
        if not _grammar(kinds, "text").fullmatch(body, end + 1):
            return None
        cuts = []  # every risky start is a number's: nothing to escape
    edits = sorted([(c, c, b"'") for c in cuts] + [(o, o + 5, b"Z") for o in offsets])
    view, pieces, start = memoryview(body), [], end + 1
    for at, stop, text in edits:
        pieces += [view[start:at], text]
        start = stop
    pieces.append(view[start:])
    if not body.endswith(b"\n"):
        pieces.append(b"\n")
    return pieces


@lru_cache(maxsize=32)
def _grammar(kinds: tuple[str, ...], mode: str) -> re.Pattern[bytes]:
    """Rows of len(kinds) quoted cells, LF after each (the last may lack it), datetimes as `_UTC`. The mode
    narrows a column family: "numbers" or "text" cells may not start risky, "offsets": non-datetime cells
    may not end like a `+0000` datetime."""
    def cell(kind: str) -> bytes:
        if kind == "datetime":
            return _UTC
        number = kind in NUMERIC_TYPES
        if (mode == "numbers" and number) or (mode == "text" and not number):
            return _SAFE
        return _NOT_UTC_END if mode == "offsets" else _CELL

    row = b",".join(cell(k) for k in kinds)
    return re.compile(b"(?:" + row + b"\n)*+(?:" + row + b")?")
