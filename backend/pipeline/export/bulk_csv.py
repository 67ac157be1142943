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
import heapq
import re
from collections.abc import Iterator
from functools import lru_cache

from backend.pipeline.cells import RISKY_FIRST
from backend.pipeline.export.soql import NUMERIC_TYPES, Column

_RISKY = RISKY_FIRST.replace(b"-", rb"\-")  # a character class
_CELL = rb'"[^"]*+(?:""[^"]*+)*+"'  # possessive: no backtracking state kept over a 10 MB page
_SAFE = rb'"(?:[^"' + _RISKY + rb'][^"]*+)?(?:""[^"]*+)*+"'  # a cell that does not start risky
_NOT_UTC_END = rb'"[^"]*+(?:""[^"]*+)*+(?<!\+0000)"'  # a cell that does not end like a `+0000` datetime
_UTC = rb'"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|\+0000))?"'  # what cells._datetimes only re-zones
# An opening quote then a risky byte. In a page of quoted cells a quote preceded by `,` or LF opens a cell
# (inside a cell every quote is doubled), so the caller keeps the matches whose byte before is one of them.
_QUOTE_THEN_RISKY = re.compile(rb'"[' + _RISKY + rb"]")
_UTC_OFFSET_END = re.compile(rb'\+0000"(?=[,\n]|\Z)')  # a closing quote: an inner one would be doubled
WRITE_BYTES = 1 << 20  # pieces are joined into writes of about this size (no list of 100,000 slices)


def rows_as_written(body: bytes | bytearray, columns: list[Column], *,
                    local_time: bool) -> Iterator[bytes | bytearray | memoryview] | None:
    """The page's rows (its header line left out) in blocks to write, or None: use the Arrow path. Every
    check runs before this returns; the blocks are made as they are written."""
    kinds = tuple(c.type for c in columns)
    if local_time and "datetime" in kinds:
        return None
    end = body.find(b"\n")
    if end < 0 or len(next(csv.reader([bytes(body[:end]).decode("utf-8-sig")]))) != len(kinds):
        return None
    offsets = "datetime" in kinds and _UTC_OFFSET_END.search(body, end) is not None
    if not _grammar(kinds, "offsets" if offsets else "").fullmatch(body, end + 1):
        return None
    escape = next(_cuts(body, end), None) is not None
    if escape and any(k in NUMERIC_TYPES for k in kinds) and not _grammar(kinds, "numbers").fullmatch(body, end + 1):
        if not _grammar(kinds, "text").fullmatch(body, end + 1):
            return None
        escape = False  # every risky start is a number's: nothing to escape
    return _blocks(body, end + 1, escape, offsets)


def _cuts(body: bytes | bytearray, end: int) -> Iterator[tuple[int, int, bytes]]:
    """(where, up to, what): a `'` put in at each risky cell start."""
    for m in _QUOTE_THEN_RISKY.finditer(body, end):
        if body[m.start() - 1] in b",\n":
            yield m.start() + 1, m.start() + 1, b"'"


def _zs(body: bytes | bytearray, end: int) -> Iterator[tuple[int, int, bytes]]:
    """(where, up to, what): `Z` in place of each `+0000` that ends a datetime."""
    for m in _UTC_OFFSET_END.finditer(body, end):
        yield m.start(), m.start() + 5, b"Z"


def _blocks(body: bytes | bytearray, start: int, escape: bool,
            offsets: bool) -> Iterator[bytes | bytearray | memoryview]:
    """The rows with the edits made, as blocks of about WRITE_BYTES; long stretches without an edit go as
    slices of the page (no copy). Each block is written before the next is made."""
    edits = heapq.merge(_cuts(body, start) if escape else iter(()), _zs(body, start) if offsets else iter(()))
    view, block = memoryview(body), bytearray()
    for at, stop, text in edits:
        if at - start >= WRITE_BYTES:
            if block:
                yield block
                block = bytearray()
            yield view[start:at]
        else:
            block += view[start:at]
        block += text
        start = stop
        if len(block) >= WRITE_BYTES:
            yield block
            block = bytearray()
    if block:
        yield block
    yield view[start:]
    if not body.endswith(b"\n"):
        yield b"\n"


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
