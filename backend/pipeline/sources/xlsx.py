"""Excel .xlsx workbooks: zip-bomb and XML-entity checks first, then openpyxl read-only streaming.

A zip needs random access: a seekable stream is used as it is; otherwise the (compressed) file is
held in memory, never on disk, up to `max_bytes`. Before openpyxl sees it, every entry is checked:
declared sizes, compression ratio and the actual decompressed size, and XML parts must not declare
a DTD or entities. Cells come out as text: dates as `YYYY-MM-DD`, date-times as
`YYYY-MM-DDTHH:MM:SS` (no zone; the job's zone applies), formulas as their cached values, numbers
with Excel's 15 significant digits. Row numbers are sheet row numbers. Empty rows are skipped;
values in columns without a header reject the row.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from backend.errors import SourceError
from backend.pipeline.cells import is_result_header, restore_chunk, unescape
from backend.pipeline.chunk import Chunk, RejectedRow, make_chunk
from backend.pipeline.sources.base import Source, header_row, register
from backend.pipeline.sources.headers import check_header
from backend.pipeline.sources.text import read_sample

if TYPE_CHECKING:
    import openpyxl

_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
_DANGEROUS = (b"<!DOCTYPE", b"<!ENTITY")
MB = 1 << 20
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def cell_text(value: Any) -> str:
    """One cell as the text the engine works with."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Excel keeps 15 significant digits; 0.1+0.2 shows as 0.3 there and should here too.
        text = f"{value:.15g}"
        return f"{value:.15f}".rstrip("0").rstrip(".") if "e" in text else text
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.replace(microsecond=value.microsecond // 1000 * 1000).isoformat(timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = str(value)
    # Excel writes characters XML cannot hold as _xHHHH_ (a literal "_x" as _x005F_x); openpyxl leaves them.
    return _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


@register
class XlsxSource(Source):
    """An Excel workbook; one sheet is read (the chosen one, else the one whose first row with values is widest,
    so a cover sheet loses to the table), its first non-empty row from `header_row` on as the header."""

    type = "xlsx"
    label = "Excel workbook (.xlsx)"
    config_schema = {
        "type": "object",
        "properties": {"sheet": {"type": "string", "title": "Sheet", "description": "Empty: the first sheet"},
                       "header_row": {"type": "integer", "title": "Header row", "default": 1, "minimum": 1,
                                      "description": "The first row the column names may be on"}},
    }

    def __init__(self, config: dict[str, Any] | None = None, *, max_bytes: int = 100 * MB,
                 max_uncompressed: int = 1024 * MB, max_ratio: int = 200, max_entries: int = 10_000,
                 max_rows: int = 1_048_576, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.max_bytes, self.max_uncompressed = max_bytes, max_uncompressed
        self.max_ratio, self.max_entries, self.max_rows = max_ratio, max_entries, max_rows
        self.own_results = False
        self.sheet: str | None = None  # the sheet read, chosen or detected

    def _random_access(self) -> BinaryIO:
        """The workbook as a seekable stream: the caller's own if it can seek, else a copy in memory."""
        stream = self._open()
        if stream.seekable():
            size = stream.seek(0, io.SEEK_END)
            stream.seek(0)
            head = stream.read(len(_XLS_MAGIC))
            stream.seek(0)
        else:
            data, _ = read_sample(stream, self.max_bytes + 1)  # raw streams may return short reads
            size, head, stream = len(data), data[:len(_XLS_MAGIC)], io.BytesIO(data)
        if size > self.max_bytes:
            raise SourceError(f"The workbook is larger than {self.max_bytes // MB} MB; save it as CSV or split it.")
        if not size:
            raise SourceError("The file is empty.")
        if head == _XLS_MAGIC:
            raise SourceError("This is an old .xls workbook; save it as .xlsx or CSV.")
        return stream

    def _check_zip(self, zf: zipfile.ZipFile) -> None:
        infos = zf.infolist()
        if len(infos) > self.max_entries:
            raise SourceError(f"The workbook has {len(infos):,} parts; at most {self.max_entries:,} are allowed.")
        declared = sum(i.file_size for i in infos)
        if declared > self.max_uncompressed:
            raise SourceError(f"The workbook unpacks to {declared // MB:,} MB; at most "
                              f"{self.max_uncompressed // MB:,} MB are allowed.")
        for info in infos:
            if info.file_size > MB and info.file_size > self.max_ratio * max(info.compress_size, 1):
                raise SourceError(f"The workbook part {info.filename} is compressed suspiciously well "
                                  f"({info.file_size // max(info.compress_size, 1):,}:1); it looks like a zip bomb.")
        total = 0
        for info in infos:
            try:
                total += self._scan_entry(zf, info, self.max_uncompressed - total)
            except zipfile.BadZipFile:  # zipfile stops at the declared size, then the CRC fails
                raise SourceError(f"The workbook part {info.filename} does not match its declared size or "
                                  "checksum; the file was refused.") from None

    def _scan_entry(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> int:
        size, tail, xml = 0, b"", info.filename.endswith((".xml", ".rels", ".vml"))
        with zf.open(info) as part:
            while block := part.read(MB):
                size += len(block)
                if size > budget or size > info.file_size:
                    raise SourceError("The workbook unpacks to more data than it declares or allows; "
                                      "it looks like a zip bomb.")
                if xml and any(d in tail + block for d in _DANGEROUS):
                    raise SourceError(f"The workbook part {info.filename} declares a DTD or XML entities, "
                                      "which Excel never writes; the file was refused as unsafe.")
                tail = block[-16:]
        return size

    def _workbook(self) -> openpyxl.Workbook:
        stream = self._random_access()
        try:
            self._check_zip(zipfile.ZipFile(stream))
            stream.seek(0)
            import openpyxl  # here, not at the top: 11 MB of RSS that CSV imports never need

            return openpyxl.load_workbook(stream, read_only=True, data_only=True)
        except SourceError:
            raise
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as err:
            raise SourceError("This is not a readable .xlsx workbook.", detail=repr(err)) from None
        except Exception as err:  # defusedxml and openpyxl raise many types for hostile or broken files
            raise SourceError("The workbook could not be read safely.", detail=repr(err)) from None

    def sheets(self) -> list[str]:
        """Sheet names, for the UI's sheet picker."""
        wb = self._workbook()
        try:
            return list(wb.sheetnames)
        finally:
            wb.close()

    def _rows(self, wb: openpyxl.Workbook) -> Iterator[tuple[int, list[str]]]:
        name = self.config.get("sheet") or None
        if name is not None and name not in wb.sheetnames:
            raise SourceError(f"The workbook has no sheet '{name}'; its sheets are {', '.join(wb.sheetnames)}.")
        ws = wb[name] if name else self._widest_sheet(wb)
        self.sheet = ws.title
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # some writers store a wrong sheet size; read every row and cell there is
        first = header_row(self.config)
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if number < first:
                continue
            cells = [cell_text(v) for v in row]
            if any(c.strip() for c in cells):
                yield number, cells

    def _widest_sheet(self, wb: openpyxl.Workbook) -> Any:
        """Detection when no sheet is chosen: the sheet whose first row with values has the most of them (a
        cover sheet with a title loses to the table behind it); the first such sheet on a tie."""
        first = header_row(self.config)
        best, width = wb.worksheets[0], -1
        for ws in wb.worksheets:
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()
            for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = [cell_text(v) for v in row] if number >= first else []
                if any(c.strip() for c in cells):
                    filled = sum(1 for c in cells if c.strip())
                    if filled > width:
                        best, width = ws, filled
                    break
        return best

    def _header(self, rows: Iterator[tuple[int, list[str]]]) -> tuple[list[str], int]:
        """The header names and how many empty columns come before them (a table may start at B3)."""
        first = next(rows, None)
        if first is None:
            raise SourceError("The sheet is empty: it has no header row and no data.")
        cells = first[1]
        left = next(i for i, c in enumerate(cells) if c.strip())
        self.own_results = is_result_header(cells[left:])
        if self.own_results:  # Inflow's own success or error file: its `'` guards come off again
            cells = [unescape(c) for c in cells]
        return check_header(cells[left:], drop_trailing_empty=True), left

    def columns(self) -> list[str]:
        wb = self._workbook()
        try:
            return self._header(self._rows(wb))[0]
        finally:
            wb.close()

    def read(self) -> Iterator[Chunk]:
        wb = self._workbook()
        try:
            rows = self._rows(wb)
            header, left = self._header(rows)
            for chunk in self._chunks(header, left, rows):
                yield restore_chunk(chunk) if self.own_results else chunk
        finally:
            wb.close()

    def _chunks(self, header: list[str], left: int, rows: Iterator[tuple[int, list[str]]]) -> Iterator[Chunk]:
        width, batch, numbers, rejected, count = len(header), [], [], [], 0
        size = self.chunk_rows(width)
        for number, cells in rows:
            count += 1
            if count > self.max_rows:
                raise SourceError(f"The sheet has more than {self.max_rows:,} rows, the limit for one import.")
            extra = [c for c in cells[:left] + cells[left + width:] if c.strip()]
            if extra:
                rejected.append(RejectedRow(number, f"Row {number} has values in columns without a header; "
                                            "the row was not imported.", tuple(cells)))
                continue
            batch.append((cells[left:] + [""] * width)[:width])
            numbers.append(number)
            if len(batch) >= size:
                yield make_chunk(header, batch, numbers, rejected)
                batch, numbers, rejected = [], [], []
        if batch or rejected:
            yield make_chunk(header, batch, numbers, rejected)
