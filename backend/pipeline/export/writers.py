"""Export file writers: CSV and Excel (.xlsx), written incrementally to a caller's binary stream.

Both take Arrow tables of prepared string cells and hold no more than one table. The .xlsx writer is a
small SpreadsheetML producer over `zipfile` in streaming mode (data descriptors, no seeking), because
openpyxl's and XlsxWriter's streaming modes park the sheet in a temporary file first, and an export
must not put Salesforce data on disk.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO, Protocol
from xml.sax.saxutils import escape

from backend.pipeline.cells import escape as escape_cell

if TYPE_CHECKING:
    import pyarrow as pa

BOM = b"\xef\xbb\xbf"  # as in result files: Excel then reads UTF-8 accents correctly
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class ExportWriter(Protocol):
    rows: int

    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


def open_writer(fmt: str, stream: BinaryIO, columns: list[str], numeric: set[str] | None = None) -> ExportWriter:
    if fmt == "csv":
        return CsvExportWriter(stream, columns)
    if fmt == "xlsx":
        return XlsxExportWriter(stream, columns, numeric or set())
    raise ValueError(f"unknown export format {fmt!r}")


class CsvExportWriter:
    """Header of field API names (so the file imports back as is), then rows; LF line ends, quotes as needed."""

    def __init__(self, stream: BinaryIO, columns: list[str]) -> None:
        self.stream, self.rows = stream, 0
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([escape_cell(c) for c in columns])
        stream.write(BOM + buf.getvalue().encode("utf-8"))

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        import pyarrow as pa  # here, not above: an export whose Bulk pages bulk_csv takes never loads pyarrow
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv

        # Empty cells written as "" like Salesforce's Bulk pages, so both APIs (and write_raw) give one file.
        table = pa.table([pc.fill_null(c, "") for c in table.columns], names=table.column_names)
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        self.stream.write(sink.getvalue().to_pybytes())
        self.rows += table.num_rows

    def write_raw(self, pieces: Iterable[bytes | bytearray | memoryview], rows: int) -> None:
        """Rows already in this file's form (a Bulk page through bulk_csv: every value quoted, LF line ends)."""
        for piece in pieces:
            self.stream.write(piece)
        self.rows += rows

    def close(self) -> None:
        return None


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot carry

_STATIC = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Export" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
}


def _cell(value: str | None, numeric: bool) -> str:
    if value is None or value == "":
        return "<c/>"
    if numeric:
        return f"<c><v>{escape(value)}</v></c>"
    text = escape(_NOT_XML.sub("", value))
    return f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


class XlsxExportWriter:
    """One sheet "Export": the header row, then a row per record; numbers as numbers, the rest inline text."""

    def __init__(self, stream: BinaryIO, columns: list[str], numeric: set[str]) -> None:
        self.rows, self.columns = 0, columns
        self._numeric = [c in numeric for c in columns]
        self._zip = zipfile.ZipFile(_Unseekable(stream), "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        for name, text in _STATIC.items():
            self._zip.writestr(name, text)
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self._sheet.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
                          b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
        self._sheet.write(self._row([escape_cell(c) for c in columns], header=True).encode("utf-8"))

    def _row(self, values: list[str | None], header: bool = False) -> str:
        flags = [False] * len(values) if header else self._numeric
        return "<row>" + "".join(_cell(v, n) for v, n in zip(values, flags, strict=True)) + "</row>"

    def write(self, table: pa.Table) -> None:
        cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
        out = [self._row(list(values)) for values in zip(*cols, strict=True)]
        self._sheet.write("".join(out).encode("utf-8"))
        self.rows += table.num_rows

    def close(self) -> None:
        self._sheet.write(b"</sheetData></worksheet>")
        self._sheet.close()
        self._zip.close()


class _Unseekable:
    """Hides seek/tell of the target so zipfile streams with data descriptors instead of rewriting headers."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, data: bytes) -> int:
        return self._stream.write(data)

    def flush(self) -> None:
        flush = getattr(self._stream, "flush", None)
        if flush:
            flush()
