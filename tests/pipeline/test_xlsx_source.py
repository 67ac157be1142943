"""Excel source: sheets, typed cells, formula values, empty rows, and hostile workbooks."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile

import openpyxl
import pytest

from backend.errors import SourceError
from backend.pipeline.sources import create_source, stream_opener
from tests.pipeline.helpers import read_rows


def workbook_bytes(rows: list[list], *, sheet: str = "Data", extra_sheet: bool = False) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    if extra_sheet:
        wb.create_sheet("Second").append(["Only"])
        wb["Second"].append(["here"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def replace_part(data: bytes, name: str, content: bytes, *, level: int = 6) -> bytes:
    """Rewrite one part of a workbook zip."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, content if info.filename == name else src.read(info.filename))
    return out.getvalue()


def test_cells_come_out_as_text_with_dates_as_dates() -> None:
    data = workbook_bytes([
        ["Name", "Born", "Last Call", "Amount", "Count", "Active", None],
        ["Ann", dt.date(1990, 3, 29), dt.datetime(2026, 10, 25, 2, 30), 1234.5, 12, True],
        [],
        ["Bob", None, None, None, None, False],
    ])
    columns, rows, numbers, rejected, _ = read_rows(data, "xlsx")
    assert columns == ["Name", "Born", "Last Call", "Amount", "Count", "Active"]
    assert rows == [["Ann", "1990-03-29", "2026-10-25T02:30:00", "1234.5", "12", "true"],
                    ["Bob", "", "", "", "", "false"]]
    assert numbers == [2, 4] and rejected == []


def test_formula_cells_give_their_cached_values() -> None:
    data = workbook_bytes([["a", "b"], [2, "=A2*2"]])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    data = replace_part(data, "xl/worksheets/sheet1.xml", sheet.replace(b"<f>A2*2</f><v></v>", b"<f>A2*2</f><v>4</v>"))
    _, rows, _, _, _ = read_rows(data, "xlsx")
    assert rows == [["2", "4"]]


def test_sheet_choice_and_unknown_sheet() -> None:
    data = workbook_bytes([["x"], [1]], extra_sheet=True)
    source = create_source("xlsx", {}, open_stream=stream_opener(data))
    assert source.sheets() == ["Data", "Second"]
    _, rows, _, _, _ = read_rows(data, "xlsx", {"sheet": "Second"})
    assert rows == [["here"]]
    with pytest.raises(SourceError, match="no sheet 'Nope'; its sheets are Data, Second"):
        read_rows(data, "xlsx", {"sheet": "Nope"})


def test_values_beyond_the_header_reject_the_row() -> None:
    _, rows, _, rejected, _ = read_rows(workbook_bytes([["a", "b"], [1, 2], [3, 4, "stray"]]), "xlsx")
    assert rows == [["1", "2"]]
    assert [r.row_number for r in rejected] == [3] and "without a header" in rejected[0].message


def test_duplicate_header_in_a_sheet() -> None:
    with pytest.raises(SourceError, match="'Email' in columns 1, 2"):
        read_rows(workbook_bytes([["Email", "email"], [1, 2]]), "xlsx")


def test_empty_sheet_and_header_only() -> None:
    with pytest.raises(SourceError, match="empty"):
        read_rows(workbook_bytes([]), "xlsx")
    columns, rows, _, _, _ = read_rows(workbook_bytes([["a", "b"]]), "xlsx")
    assert columns == ["a", "b"] and rows == []


def test_zip_bomb_is_refused_before_parsing() -> None:
    padding = b"<!-- " + b"A" * (8 << 20) + b" -->"
    sheet = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' \
        + padding + b"<sheetData/></worksheet>"
    bomb = replace_part(workbook_bytes([["a"]]), "xl/worksheets/sheet1.xml", sheet, level=9)
    assert len(bomb) < 100_000
    with pytest.raises(SourceError, match="zip bomb"):
        read_rows(bomb, "xlsx")
    with pytest.raises(SourceError, match="unpacks to"):
        read_rows(bomb, "xlsx", max_ratio=10**6, max_uncompressed=4 << 20)


def test_zip_that_lies_about_its_sizes_is_refused() -> None:
    data = replace_part(workbook_bytes([["a"], ["b"]]), "xl/worksheets/sheet1.xml",
                        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                        b'2006/main"><sheetData>' + b"<row/>" * 200_000 + b"</sheetData></worksheet>")
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = zf.getinfo("xl/worksheets/sheet1.xml")
    lying = bytearray(data)
    # Declare 1 KB uncompressed in both the local and the central header.
    struct.pack_into("<I", lying, info.header_offset + 22, 1024)
    pos = data.index(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + name_len] == info.filename.encode():
            struct.pack_into("<I", lying, pos + 24, 1024)
        pos = data.find(b"PK\x01\x02", pos + 4)
    with pytest.raises(SourceError, match="does not match its declared size"):
        read_rows(bytes(lying), "xlsx")


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/workbook.xml"])
def test_xml_entity_attack_is_refused(part: str) -> None:
    laughs = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
              b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
              b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
              b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData></worksheet>')
    data = replace_part(workbook_bytes([["a"]]), part, laughs)
    with pytest.raises(SourceError, match="DTD or XML entities"):
        read_rows(data, "xlsx")


def test_size_and_row_limits() -> None:
    data = workbook_bytes([["a"]] + [[i] for i in range(20)])
    with pytest.raises(SourceError, match="larger than"):
        read_rows(data, "xlsx", max_bytes=1000)
    with pytest.raises(SourceError, match="more than 10 rows"):
        read_rows(data, "xlsx", max_rows=10)


def test_not_a_workbook() -> None:
    with pytest.raises(SourceError, match="old .xls"):
        read_rows(b"\xd0\xcf\x11\xe0" + b"\x00" * 600, "xlsx")
    with pytest.raises(SourceError, match="not a readable .xlsx"):
        read_rows(b"Name,City\n", "xlsx")


def test_numbers_show_as_excel_shows_them() -> None:
    data = workbook_bytes([["n"], [0.1 + 0.2], [1e-7], [123456789012345.0], [-3.25]])
    _, rows, _, _, _ = read_rows(data, "xlsx")
    assert rows == [["0.3"], ["0.0000001"], ["123456789012345"], ["-3.25"]]


def test_a_seekable_stream_is_read_in_place_and_a_pipe_like_one_from_memory() -> None:
    data = workbook_bytes([["a"], ["x"]])

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:  # type: ignore[override]
            chunk = self.inner.read(min(len(b), 1000))  # short reads, like a decrypting blob stream
            b[:len(chunk)] = chunk
            return len(chunk)

    for stream in (io.BytesIO(data), None):
        opener = (lambda s=stream: s) if stream is not None else Pipe
        source = create_source("xlsx", {}, open_stream=opener)
        assert [c.frame.to_dict("list") for c in source.read()] == [{"a": ["x"]}]
    assert [c.frame.to_dict("list") for c in create_source("xlsx", {}, open_stream=io.BytesIO(data)).read()] == [
        {"a": ["x"]}]


def test_a_wrong_stored_sheet_size_does_not_hide_cells_and_rows_keep_their_numbers() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B3"], ws["C3"] = "Name", "City"
    ws["B4"], ws["C4"] = "Ann", "Köln"
    ws["C6"] = "Bonn"
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b'<dimension ref="B3:C6"/>' in sheet
    data = replace_part(data, "xl/worksheets/sheet1.xml", sheet.replace(b'ref="B3:C6"', b'ref="A1:B2"'))
    columns, rows, numbers, _, _ = read_rows(data, "xlsx")
    assert columns == ["Name", "City"]
    assert rows == [["Ann", "Köln"], ["", "Bonn"]] and numbers == [4, 6]


def test_values_left_of_an_indented_table_reject_the_row() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B1"], ws["B2"], ws["A3"], ws["B3"] = "Name", "Ann", "stray", "Bob"
    buf = io.BytesIO()
    wb.save(buf)
    _, rows, _, rejected, _ = read_rows(buf.getvalue(), "xlsx")
    assert rows == [["Ann"]] and [r.row_number for r in rejected] == [3]
