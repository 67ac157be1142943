"""Bulk CSV: the job dialects (columnDelimiter, lineEnding), reading uploads and writing result files.

Result files follow Salesforce: `"sf__Id","sf__Created",<header as uploaded>` then every value quoted
(BulkGuide "Get Job Successful Record Results"); errors read `CODE:message:field1,field2 --`.
"""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from .errors import SfError

DELIMITERS = {"COMMA": ",", "TAB": "\t", "SEMICOLON": ";", "PIPE": "|", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
CSV_TYPE = "text/csv; charset=UTF-8"


def bulk_error(err: SfError) -> str:
    """`CODE:message:fields --` as result files show it (`…:--` when no field is named)."""
    fields = ",".join(err.fields)
    return f"{err.code}:{err.message}:{fields + ' ' if fields else ''}--"


class Upload:
    """A parsed CSV upload: the raw header line (echoed in result files), column names and row iterator."""

    def __init__(self, data: bytes, delimiter: str = ",") -> None:
        text = data.decode("utf-8-sig", "replace")
        end = text.find("\n")
        self.raw_header = (text if end < 0 else text[:end]).rstrip("\r")
        self._reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
        self.header: list[str] = next(self._reader, [])

    def rows(self) -> Iterator[list[str]]:
        return self._reader


def quote(value: Any) -> str:
    s = "" if value is None else str(value)
    return '"' + s.replace('"', '""') + '"'


def result_chunks(prefix: list[str], raw_header: str, rows: Iterable[tuple[list[str], list[str]]],
                  delimiter: str, eol: str, size: int = 1 << 16) -> Iterator[bytes]:
    """Header `"sf__…",<raw header>` then, per row, the quoted sf__ values followed by the quoted row,
    as ~64 KB UTF-8 pieces of a streamed response. csv.writer quotes in C: result files are most of
    what localorg writes for a big job, and clients time them."""
    buf = io.StringIO()
    head = delimiter.join(quote(p) for p in prefix)
    buf.write((head + delimiter + raw_header if prefix else raw_header) + eol)
    writer = csv.writer(buf, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator=eol)
    for extra, row in rows:
        writer.writerow(extra + row)
        if buf.tell() >= size:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode("utf-8")


def whole_records(text: str, delimiter: str) -> tuple[str, list[str]] | None:
    """(the raw header, the data lines) when every line is a whole record that `quote_all` can write as
    csv.writer would without reading it as CSV; None when csv.reader must read the upload.

    A line qualifies when it has no quote at all (its values are what splitting on the delimiter gives) or
    is already written the csv way: every value quoted, quotes inside doubled, as pyarrow and most tools
    write. Nothing else may differ from csv.reader's reading: no NUL, no CR but in CRLF endings, no field
    over csv's size limit, a header in the first 64 KB. Result files of such uploads (most uploads) are
    then built a line at a time, a fraction of the CPU of reading and writing every row through csv.
    """
    if "\0" in text:
        return None
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if max(map(len, lines)) > csv.field_size_limit() or len(lines[0]) * 4 >= 1 << 16:
        return None
    if '"' in text:
        sep = f'"{delimiter}"'
        for line in lines:
            # Already quoted: `"` + values joined by `","` + `"`, where no value holds a lone quote. A line
            # that is a piece of a record (a quoted line break) has one and fails here.
            if '"' in line and (len(line) < 2 or line[0] != '"' or line[-1] != '"'
                                or '"' in line[1:-1].replace(sep, "\0").replace('""', "")):
                return None
    return lines[0], [line for line in lines[1:] if line]   # csv.reader's empty rows: result files skip them


def quote_all(records: list[str], delimiter: str) -> list[str]:
    """Lines of `whole_records` as csv.writer's QUOTE_ALL writes them: `a,b` becomes `"a","b"`."""
    sep = f'"{delimiter}"'
    joined = "\n".join(records)
    if '"' not in joined:   # the whole slice at once
        return ('"' + joined.replace(delimiter, sep).replace("\n", '"\n"') + '"').split("\n") if records else []
    return [line if '"' in line else '"' + line.replace(delimiter, sep) + '"' for line in records]


def chunked(lines: Iterable[str], size: int = 1 << 16) -> Iterator[bytes]:
    """Join small lines into ~64 KB UTF-8 chunks for a streamed response."""
    buf: list[str] = []
    n = 0
    for line in lines:
        buf.append(line)
        n += len(line)
        if n >= size:
            yield "".join(buf).encode("utf-8")
            buf, n = [], 0
    if buf:
        yield "".join(buf).encode("utf-8")


def gzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """gzip a streamed body (Bulk 2.0 compresses results when asked: BulkGuide "Use Compression")."""
    z = zlib.compressobj(1, zlib.DEFLATED, 31)  # fast: result files can be hundreds of MB
    for chunk in chunks:
        out = z.compress(chunk)
        if out:
            yield out
    yield z.flush()


def flatten(record: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Query record JSON to (Column.Path, value) pairs, skipping `attributes`."""
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def query_value(value: Any) -> str:
    """Bulk query CSV cell: booleans lower-case, nulls empty, everything quoted."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return '"true"' if value else '"false"'
    return quote(value)
