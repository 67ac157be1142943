"""Source settings: the header row (lines or rows above the table are skipped) and, for workbooks without a chosen
sheet, the sheet the data is on rather than a cover sheet."""

from __future__ import annotations

import io

import openpyxl
import pytest

from backend.errors import ConfigError, SourceError
from backend.pipeline.sources import create_source


def _read(kind: str, data: bytes, config: dict) -> tuple[list[str], list[list[str]], list[int]]:
    source = create_source(kind, config, open_stream=data)
    chunks = list(source.read())
    rows = [r for c in chunks for r in c.frame.astype(object).values.tolist()]
    return source.columns(), rows, [int(n) for c in chunks for n in c.row_numbers]


def test_a_csv_header_row_below_a_title_is_found_and_line_numbers_stay_true() -> None:
    data = b"Contacts export\nfrom the old CRM\nName;Phone\nAnn;+1 555\nBob;+1 556\n"
    assert _read("csv", data, {"header_row": 3}) == (["Name", "Phone"], [["Ann", "+1 555"], ["Bob", "+1 556"]], [4, 5])
    assert _read("csv", data, {"header_row": "3", "delimiter": ";"})[0] == ["Name", "Phone"]
    with pytest.raises(SourceError, match="fewer than 9 lines"):
        _read("csv", data, {"header_row": 9})
    with pytest.raises(ConfigError, match="line number"):
        _read("csv", data, {"header_row": "first"})


def _workbook(*sheets: tuple[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets:
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_without_a_chosen_sheet_the_one_with_the_table_is_read_not_the_cover() -> None:
    data = _workbook(("Cover", [["Q1 contacts"], ["prepared by Ann"]]),
                     ("Data", [["Name", "Email", "Phone"], ["Ann", "ann@example.com", "+1 555"]]))
    source = create_source("xlsx", {}, open_stream=data)
    assert source.columns() == ["Name", "Email", "Phone"] and source.sheet == "Data"
    assert _read("xlsx", data, {"sheet": "Cover"})[0] == ["Q1 contacts"]  # a chosen sheet is read as chosen


def test_an_excel_header_row_skips_the_rows_above_it() -> None:
    data = _workbook(("Data", [["Report"], [], ["Name", "Phone"], ["Ann", "+1 555"]]))
    assert _read("xlsx", data, {"header_row": 3}) == (["Name", "Phone"], [["Ann", "+1 555"]], [4])
