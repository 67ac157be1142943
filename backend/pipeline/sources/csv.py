"""CSV files: encoding and delimiter detection, strict header checks, streaming chunks with line numbers.

Fast path: pyarrow parses the bytes after the header; a record's line number is derived from the
newlines inside the preceding records. pyarrow cannot say where a malformed record (wrong number of
fields) sat, so when one appears (or pyarrow fails for any other reason, such as invalid UTF-8) the source
reopens the file, skips the lines already handed out, and reads the next chunk with Python's csv
module, which knows every record's line; then pyarrow takes over again at that record boundary. Rows are never
shifted: a malformed record becomes a `RejectedRow`. Records whose cells are all empty (blank lines,
`,,,`) are skipped. Old-Mac files with CR-only line ends are refused. `header_row` skips lines above the
header (a title, notes); they do not vote in the delimiter guess either.
"""

from __future__ import annotations

import csv as pycsv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from backend.errors import SourceError
from backend.pipeline.cells import is_result_header, restore_chunk, unescape
from backend.pipeline.chunk import Chunk, RejectedRow, frame_from_arrow, holds_any_byte, make_chunk
from backend.pipeline.memory import reader_pool
from backend.pipeline.sources.base import Source, header_row, register
from backend.pipeline.sources.headers import check_header
from backend.pipeline.sources.text import Encoding, detect_encoding, read_sample, utf8_blocks
from backend.streams import IterStream

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_ZIP_MAGIC = b"PK\x03\x04"
# Python's csv refuses fields over 128 KiB; raised to 4 MiB, as it reads the records longer than pyarrow's
# block: an over-long value is better reported by the field length check than as an unreadable file.
pycsv.field_size_limit(max(pycsv.field_size_limit(), 1 << 22))
MAX_REOPENS = 50  # after this many malformed stretches the rest of the file is read the careful way
# pyarrow's streaming reader reads many blocks ahead: 4 MiB blocks held about 80 MB, 1 MiB about 25 MB, at
# the same speed. A record longer than a block is still read, by the careful reader.
READ_BLOCK = 1 << 20


@dataclass
class _Opened:
    buf: io.BufferedReader
    header: list[str]
    first_data_line: int
    lines: Iterator[str]
    counter: list[int]


def _after_header(buf: io.BufferedReader) -> IterStream:
    """The rest of the file for pyarrow: what `buf` holds, then the blocks it has not read yet, each handed on
    as it is. Read through `buf`, every 1 MiB block was copied into a new one (a fresh mmap to fill)."""
    held = buf.read1(len(buf.peek(1)))
    return IterStream(itertools.chain([held], buf.raw.rest()))


def _guess_delimiter(text: str) -> str:
    lines = text.split("\n")
    sample = "\n".join(lines[:50] if len(lines) > 50 else lines[:-1] or lines)
    best, best_score = ",", (0.0, 0)
    for delim in DELIMITERS:
        rows = [r for r in pycsv.reader(io.StringIO(sample, newline="\n"), delimiter=delim) if r]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(len(r) == width for r in rows) / len(rows), width)
        if score > best_score:
            best, best_score = delim, score
    return best


@register
class CsvSource(Source):
    """A delimited text file (CSV, semicolon, tab or pipe separated) with a header row."""

    type = "csv"
    label = "CSV file"
    config_schema = {
        "type": "object",
        "properties": {
            "encoding": {"type": "string", "title": "Encoding", "default": "auto",
                         "enum": ["auto", "utf-8", "utf-16", "cp1252", "latin-1"]},
            "delimiter": {"type": "string", "title": "Delimiter", "default": "auto",
                          "enum": ["auto", ",", ";", "\t", "|"]},
            "header_row": {"type": "integer", "title": "Header row", "default": 1, "minimum": 1,
                           "description": "The line the column names are on; lines above it are skipped"},
        },
    }

    def __init__(self, config: dict[str, Any] | None = None, *, max_rows: int | None = None,
                 lines_before: int = 0, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.max_rows = max_rows
        # A piece of a larger file (backend/runs/split.py): its stream is the header and then the lines
        # after `lines_before` more lines of the file, so line numbers stay those of the whole file.
        self.lines_before = lines_before
        self.encoding: Encoding | None = None
        self.delimiter: str | None = None
        self.own_results = False

    def _sniff(self, stream: BinaryIO) -> bytes:
        """Read the sample, settle encoding and delimiter, refuse what is clearly not a CSV file."""
        sample, complete = read_sample(stream)
        if sample.startswith(_ZIP_MAGIC):
            raise SourceError("This file is a zip archive (an Excel workbook?), not a CSV file. "
                              "Upload it as Excel or save it as CSV.")
        self.encoding = enc = detect_encoding(sample, self.config.get("encoding", "auto"), complete=complete)
        if enc.warning and enc.warning not in self.warnings:
            self.warnings.append(enc.warning)
        text = sample[enc.skip:].decode(enc.codec, errors="replace")
        if not text.strip("\r\n\t \ufeff"):
            raise SourceError("The file is empty: it has no header row and no data.")
        if "\x00" in text:
            raise SourceError("The file contains binary data (NUL bytes); it is not a text CSV file.")
        if "\r" in text and "\n" not in text:
            raise SourceError("Lines end with CR only (old Mac format); save the file with CRLF or LF line ends.")
        delim = self.config.get("delimiter", "auto")
        table = text.split("\n", header_row(self.config) - 1)[-1]  # lines above the header do not vote
        self.delimiter = _guess_delimiter(table) if delim in (None, "", "auto") else delim
        return sample

    def _open_text(self) -> _Opened:
        """Open the file positioned after the header row, with a line counter shared with the readers."""
        stream = self._open()
        sample = self._sniff(stream)
        codec = self.encoding.codec
        buf = io.BufferedReader(IterStream(utf8_blocks(stream, self.encoding, sample)), buffer_size=1 << 20)
        counter = [self.lines_before]

        def lines() -> Iterator[str]:
            while line := buf.readline():
                counter[0] += 1
                try:
                    yield line.decode("utf-8")
                except UnicodeDecodeError:
                    raise SourceError(f"Line {counter[0]} is not valid {codec} text; choose the right "
                                      "encoding in the source settings.") from None

        for _ in range(header_row(self.config) - 1):  # a title or notes above the table
            if not buf.readline():
                raise SourceError(f"The file has fewer than {header_row(self.config)} lines; choose another "
                                  "header row in the source settings.")
            counter[0] += 1
        line_iter = lines()
        try:
            header = next((row for row in pycsv.reader(line_iter, delimiter=self.delimiter) if row), None)
        except pycsv.Error as err:
            raise SourceError(f"The header row could not be read: {err}.") from None
        if header is None:
            raise SourceError("The file is empty: it has no header row and no data.")
        self.own_results = is_result_header(header)
        if self.own_results:  # Inflow's own success or error file: its escapes come off again
            header = [unescape(h) for h in header]
        return _Opened(buf, check_header(header), counter[0] + 1, line_iter, counter)

    def columns(self) -> list[str]:
        return self._open_text().header

    def read(self) -> Iterator[Chunk]:
        self._emitted = 0
        opened, reopens = self._open_text(), 0
        while True:
            resume = yield from self._read_fast(opened)
            if resume is None:
                return
            opened = self._open_text()
            while opened.counter[0] < resume - 1 and opened.buf.readline():
                opened.counter[0] += 1  # resume starts a record, so whole lines can be skipped unparsed
            reopens += 1
            if not (yield from self._read_slow(opened, switch_back=reopens < MAX_REOPENS)):
                return
            opened.first_data_line = opened.counter[0] + 1

    def _pyarrow_reader(self, opened: _Opened, invalid: list) -> pacsv.CSVStreamingReader:
        def on_invalid(row: Any) -> str:
            invalid.append(row)
            return "skip"
        names = opened.header
        return pacsv.open_csv(
            _after_header(opened.buf),
            read_options=pacsv.ReadOptions(column_names=names, block_size=READ_BLOCK),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True,
                                             ignore_empty_lines=False, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False),
            memory_pool=reader_pool())

    def _read_fast(self, opened: _Opened) -> Iterator[Chunk]:
        """Yield chunks via pyarrow; return the line to resume from if a malformed record shows up."""
        if not opened.buf.peek(1):
            return None  # header only: zero rows is a valid answer
        invalid: list = []
        line, pending, pending_lines = opened.first_data_line, [], []
        size = self.chunk_rows(len(opened.header))
        try:
            reader = self._pyarrow_reader(opened, invalid)
            for batch in reader:
                if invalid:
                    return int(pending_lines[0][0]) if pending_lines else line
                starts, keep, line = _record_lines(batch, line)
                table = pa.Table.from_batches([batch])
                if not keep.all():
                    table, starts = table.filter(pa.array(keep)), starts[keep]
                if not len(starts):
                    continue
                pending.append(table)
                pending_lines.append(starts)
                while sum(len(t) for t in pending) >= size:
                    yield self._emit(self._take(pending, pending_lines, size))
        except pa.ArrowInvalid:
            # Invalid UTF-8, a record larger than a block, odd quoting: the careful reader says where.
            return int(pending_lines[0][0]) if pending_lines else line
        if invalid:
            return int(pending_lines[0][0]) if pending_lines else line
        while pending:
            yield self._emit(self._take(pending, pending_lines, size))
        return None

    def _take(self, pending: list[pa.Table], pending_lines: list[np.ndarray], n: int) -> Chunk:
        table = pa.concat_tables(pending)
        lines = np.concatenate(pending_lines)
        head, rest = table.slice(0, n), table.slice(n)
        pending.clear()
        pending_lines.clear()
        if len(rest):
            pending.append(rest)
            pending_lines.append(lines[n:])
        # One buffer per column: every kernel and buffer scan downstream then runs once per column, not per block.
        whole = head.combine_chunks()
        frame = frame_from_arrow(whole.column_names, whole.columns)
        return Chunk(frame, lines[:n].astype(np.int64), [])

    def _read_slow(self, opened: _Opened, *, switch_back: bool) -> Iterator[Chunk]:
        """Read with Python's csv module; return True after one chunk if pyarrow may take over again."""
        reader = pycsv.reader(opened.lines, delimiter=self.delimiter)
        header, width = opened.header, len(opened.header)
        rows, numbers, rejected, size = [], [], [], self.chunk_rows(len(opened.header))
        while True:
            start = opened.counter[0] + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except pycsv.Error as err:
                raise SourceError(f"Line {start}: {err}.") from None
            if not any(row):
                continue
            if len(row) != width:
                rejected.append(RejectedRow(start, f"Line {start} has {len(row)} fields but the header has "
                                            f"{width}; the row was not imported.", tuple(row)))
            else:
                rows.append(row)
                numbers.append(start)
            if len(rows) >= size:
                yield self._emit(make_chunk(header, rows, numbers, rejected))
                rows, numbers, rejected = [], [], []
                if switch_back:  # the reader stopped right after a record: pyarrow can go on from here
                    return True
        if rows or rejected:
            yield self._emit(make_chunk(header, rows, numbers, rejected))
        return False

    def _emit(self, chunk: Chunk) -> Chunk:
        self._emitted += len(chunk)
        if self.max_rows is not None and self._emitted > self.max_rows:
            raise SourceError(f"The file has more than {self.max_rows:,} rows, the limit for one import. "
                              "Split it into smaller files.")
        return restore_chunk(chunk) if self.own_results else chunk


def _record_lines(batch: pa.RecordBatch, first_line: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Start line of each record, which records have any non-empty cell, and the next free line."""
    n = batch.num_rows
    spans = np.ones(n, dtype=np.int64)
    if holds_any_byte(batch.columns, b"\n"):  # most files have none: then every record is one line
        for col in batch.columns:
            spans += pc.count_substring(col, "\n").to_numpy(zero_copy_only=False)
    # A first column without an empty cell (the usual case) keeps every record: one kernel, not one per column.
    keep = np.ones(n, dtype=bool)
    if n and pc.min(pc.binary_length(batch.column(0))).as_py() == 0:
        keep[:] = False
        for col in batch.columns:
            keep |= pc.binary_length(col).to_numpy(zero_copy_only=False) > 0
    ends = np.cumsum(spans)
    starts = first_line + ends - spans
    return starts, keep, first_line + int(ends[-1]) if n else first_line
