"""Result files as Excel workbooks: a CSV result file re-written as .xlsx, streamed, never on disk.

Every cell is a typed text cell (an inline string), so no formula runs and no value needs the CSV
file's formula `'`; only the `'` guard of `cells.escape_typed` stays, which Inflow's readers reverse. The
workbook is written by a small zip writer of its own (openpyxl's write-only mode spools sheets to temp
files, and result files hold external data, which stays in memory): zipfile writes each part through an
unseekable pipe the generator drains after every batch of rows, so memory holds one batch. A sheet holds at
most Excel's 1,048,576 rows; further rows go on to further sheets.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator
from typing import IO, BinaryIO

from backend.pipeline.cells import escape_typed, unescape

MAX_SHEET_ROWS = 1_048_576
ROWS_PER_FLUSH = 500
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
# XML 1.0 cannot hold most control characters; Excel writes them as _xHHHH_ (and a literal _xHHHH_ as _x005F_...).
_EXCEL_ESCAPE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
_XML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_XML_CHARS = re.compile("[&<>\r]")


class _Pipe:
    """A write-only, unseekable file that collects what zipfile writes until the generator takes it."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _column_letters(count: int) -> list[str]:
    letters = []
    for n in range(1, count + 1):
        name = ""
        while n:
            n, rem = divmod(n - 1, 26)
            name = chr(65 + rem) + name
        letters.append(name)
    return letters


def _xml_text(value: str) -> str:
    value = _EXCEL_ESCAPE.sub(lambda m: "_x005F_" if m.group() == "_" else f"_x{ord(m.group()):04X}_", value)
    return _XML_CHARS.sub(lambda m: _XML[m.group()], value)


def _row_xml(number: int, cells: list[str], letters: list[str]) -> str:
    if len(cells) > len(letters):
        letters.extend(_column_letters(len(cells))[len(letters):])
    body = "".join(f'<c r="{letters[i]}{number}" t="inlineStr"><is><t xml:space="preserve">'
                   f"{_xml_text(escape_typed(unescape(v)))}</t></is></c>" for i, v in enumerate(cells) if v)
    return f'<row r="{number}">{body}</row>'


def _package_parts(sheets: list[str]) -> dict[str, str]:
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                        for i in range(1, len(sheets) + 1))
    sheet_list = "".join(f'<sheet name="{_xml_text(name)}" sheetId="{i}" r:id="rId{i}"/>'
                         for i, name in enumerate(sheets, 1))
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, len(sheets) + 1))
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    return {
        "[Content_Types].xml": head + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        f'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{overrides}</Types>',
        "_rels/.rels": head + f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": head + f'<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets>{sheet_list}</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": head + f'<Relationships xmlns="{_PKG}">{rels}</Relationships>',
    }


def csv_to_xlsx(stream: BinaryIO, sheet_name: str = "Results") -> Iterator[bytes]:
    """The workbook bytes, piece by piece, for a result CSV (UTF-8, optional BOM, with its header row)."""
    text: IO[str] = codecs.getreader("utf-8-sig")(stream)
    rows = csv.reader(text)
    header = next(rows, [])
    pipe = _Pipe()
    sheets: list[str] = []
    letters = _column_letters(len(header))
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        more = True
        while more:
            sheets.append(sheet_name if not sheets else f"{sheet_name} {len(sheets) + 1}")
            with zf.open(f"xl/worksheets/sheet{len(sheets)}.xml", "w") as part:
                part.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}">'
                           f"<sheetData>{_row_xml(1, header, letters)}".encode())
                more = yield from _sheet_rows(rows, part, pipe, letters)
                part.write(b"</sheetData></worksheet>")
            yield pipe.take()
        for name, xml in _package_parts(sheets).items():
            zf.writestr(name, xml)
    yield pipe.take()


def _sheet_rows(rows: Iterator[list[str]], part: IO[bytes], pipe: _Pipe, letters: list[str]) -> Iterator[bytes]:
    """Write rows 2.. of one sheet; returns whether rows are left for another sheet."""
    batch: list[str] = []
    for number, cells in enumerate(rows, start=2):
        batch.append(_row_xml(number, cells, letters))
        if len(batch) >= ROWS_PER_FLUSH:
            part.write("".join(batch).encode())
            batch.clear()
            yield pipe.take()
        if number == MAX_SHEET_ROWS:
            part.write("".join(batch).encode())
            return True
    part.write("".join(batch).encode())
    return False
