"""Round trip of Inflow's own result files: what the success and error files hold (CSV or Excel) reads back
as exactly the original values, and files that are not Inflow's keep their apostrophes."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from backend.pipeline.cells import escape, escape_typed, unescape
from backend.pipeline.results import ErrorFileWriter, SuccessFileWriter
from backend.pipeline.sources import create_source
from backend.pipeline.xlsx_out import csv_to_xlsx

VALUES = ["+1 (555) 174-9779", "=SUM(A1:A2)", "-12", "@home", "\tindented", "'+1 quoted", "''x", "'plain",
          "it's", "", "a<b & c>d", "line one\r\nline two", "_x0041_ literal", "bell\x07", "Zoë 東京"]


@pytest.mark.parametrize("value", VALUES)
def test_unescape_reverses_both_escapes(value: str) -> None:
    assert unescape(escape(value)) == value
    assert unescape(escape_typed(value)) == value
    assert not escape(value).startswith(("=", "+", "-", "@", "\t"))


def _files() -> tuple[bytes, bytes]:
    frame = pd.DataFrame({"Phone": VALUES, "Note": list(reversed(VALUES))}, dtype="string")
    ok, bad = io.BytesIO(), io.BytesIO()
    SuccessFileWriter(ok, ["Phone", "Note"]).write(frame, [f"003{i:015d}" for i in range(len(frame))],
                                                   [True] * len(frame))
    ErrorFileWriter(bad, ["Phone", "Note"]).write(frame, list(range(2, len(frame) + 2)), ["-bad"] * len(frame))
    return ok.getvalue(), bad.getvalue()


def _read(kind: str, data: bytes) -> tuple[list[str], list[list[str]]]:
    source = create_source(kind, {}, open_stream=data)
    rows = [r for chunk in source.read() for r in chunk.frame.astype(object).values.tolist()]
    return source.columns(), rows


@pytest.mark.parametrize("which", [0, 1])
def test_inflow_result_files_read_back_as_the_original_values_from_csv_and_excel(which: int) -> None:
    data = _files()[which]
    assert b"'+1 (555) 174-9779" in data  # the CSV keeps the formula guard for spreadsheets
    for kind, payload in (("csv", data), ("xlsx", b"".join(csv_to_xlsx(io.BytesIO(data))))):
        columns, rows = _read(kind, payload)
        assert columns[2:] == ["Phone", "Note"], kind
        assert [r[2] for r in rows] == VALUES, kind
        assert [r[3] for r in rows] == list(reversed(VALUES)), kind
        if which:
            assert {r[1] for r in rows} == {"-bad"}, kind


def test_the_excel_file_has_typed_text_cells_and_no_apostrophe_guards() -> None:
    workbook = b"".join(csv_to_xlsx(io.BytesIO(_files()[1]), "Errors"))
    with zipfile.ZipFile(io.BytesIO(workbook)) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and 't="inlineStr"' in sheet and 't="n"' not in sheet
    ws = openpyxl.load_workbook(io.BytesIO(workbook)).active
    assert ws.title == "Errors"
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("sf__Row", "sf__Error", "Phone", "Note")
    assert rows[1][:3] == ("2", "-bad", "+1 (555) 174-9779")  # as typed, with no apostrophe in front
    assert {c.data_type for row in ws.iter_rows() for c in row if c.value is not None} == {"s"}


def test_a_file_that_is_not_an_inflow_result_keeps_its_apostrophes() -> None:
    columns, rows = _read("csv", b"Name,Phone\nAnn,'+1 (555) 174-9779\n")
    assert columns == ["Name", "Phone"] and rows == [["Ann", "'+1 (555) 174-9779"]]


def test_the_success_file_escapes_a_risky_value_wherever_it_sits_in_the_column() -> None:
    """Columns are checked from their Arrow buffers first; a risky value deep in a later block still counts."""
    import pyarrow as pa

    from backend.pipeline.cells import escape_frame
    from backend.pipeline.chunk import STRING_DTYPE

    late = pd.array(pa.chunked_array([["plain", "text"], ["", "ok", "=HYPERLINK(1)"]]), dtype=STRING_DTYPE)
    frame = pd.DataFrame({"Late": late, "Safe": ["a", "b", "c", "d", "e"], "Empty": [""] * 5,
                          "Quoted": ["'x", "''", "x'", None, "'=1"]}, dtype=STRING_DTYPE)
    out = escape_frame(frame)
    for name in frame.columns:
        assert out[name].tolist() == [escape(v) for v in frame[name].tolist()]
    assert out["Late"].tolist()[-1] == "'=HYPERLINK(1)"
