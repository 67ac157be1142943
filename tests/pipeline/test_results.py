"""Success and error files: layout, escaping against formula injection, incremental writing."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from backend.pipeline.cells import escape as escape_cell
from backend.pipeline.chunk import make_chunk
from backend.pipeline.mapping import FieldMapping, Mapper, Mapping, RowError
from backend.pipeline.results import ErrorFileWriter, SuccessFileWriter
from tests.pipeline.helpers import contact_describe


def parse(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


@pytest.mark.parametrize(("value", "expected"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("\x00x", "'\x00x"), ("plain", "plain"), ("a=b", "a=b"), ("", ""), (None, ""),
    ("'+1", "''+1"), ("''x", "'''x"), ("'abc", "'abc"),
])
def test_escape_cell(value: str | None, expected: str) -> None:
    assert escape_cell(value) == expected


def test_success_file_has_ids_then_every_original_column() -> None:
    out = io.BytesIO()
    writer = SuccessFileWriter(out, ["Name", "Formula", "Note"])
    source = pd.DataFrame({"Name": ["Ann", "Bob"], "Formula": ["=1+1", "ok"], "Note": ['say "hi"\nbye', None]},
                          dtype="string")
    writer.write(source, ["003000000000001AAA", "003000000000002AAA"], [True, False])
    writer.write(source.iloc[:0], [], [])
    assert parse(out.getvalue()) == [
        ["sf__Id", "sf__Created", "Name", "Formula", "Note"],
        ["003000000000001AAA", "true", "Ann", "'=1+1", 'say "hi"\nbye'],
        ["003000000000002AAA", "false", "Bob", "ok", ""],
    ]
    assert writer.rows == 2


def test_error_file_has_row_numbers_messages_and_original_values() -> None:
    out = io.BytesIO()
    writer = ErrorFileWriter(out, ["Name", "Email"])
    writer.write_errors([RowError(3, "Email: 'x' is not an email address", {"Name": "-Ann", "Email": "x"}),
                         RowError(9, "Line 9 has 3 fields but the header has 2")])
    writer.write(pd.DataFrame({"Name": ["Cy"], "Email": ["cy@example.com"]}), [12],
                 ["=DUPLICATE_VALUE: duplicate value found"])
    assert parse(out.getvalue()) == [
        ["sf__Row", "sf__Error", "Name", "Email"],
        ["3", "Email: 'x' is not an email address", "'-Ann", "x"],
        ["9", "Line 9 has 3 fields but the header has 2", "", ""],
        ["12", "'=DUPLICATE_VALUE: duplicate value found", "Cy", "cy@example.com"],
    ]
    assert writer.rows == 3


def test_writers_stream_to_the_callers_file_chunk_by_chunk() -> None:
    class Recorder(io.RawIOBase):
        def __init__(self) -> None:
            self.writes: list[int] = []

        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            self.writes.append(len(b))
            return len(b)

    sink = Recorder()
    m = Mapping("Contact", fields=[FieldMapping("LastName", column="Last")])
    mapper = Mapper(m, contact_describe(), ["Last"])
    writer = ErrorFileWriter(sink, ["Last"])
    for start in range(0, 3000, 1000):
        mapped = mapper.map_chunk(make_chunk(["Last"], [[""]] * 1000, range(start + 2, start + 1002)))
        writer.write_errors(mapped.errors)
    assert len(sink.writes) == 4 and writer.rows == 3000
    assert max(sink.writes) < 40_000
