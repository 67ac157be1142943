"""CSV source: encodings, delimiters, quoting, line numbers, malformed rows, headers, limits."""

from __future__ import annotations

import codecs
import csv
import io

import pytest

from backend.errors import SourceError
from backend.pipeline.sources import create_source, source_types, stream_opener
from tests.pipeline.helpers import read_rows

SAMPLE = "Name,City,Note\nJürgen,Köln,ä\nZoë,Zürich,€ sign\n"


@pytest.mark.parametrize("encoded", [
    SAMPLE.encode("utf-8"),
    codecs.BOM_UTF8 + SAMPLE.encode("utf-8"),
    SAMPLE.encode("utf-16"),  # with BOM, native order
    codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be"),
    codecs.BOM_UTF16_LE + SAMPLE.replace("\n", "\r\n").encode("utf-16-le"),
    SAMPLE.encode("utf-16-le"),
], ids=["utf8", "utf8-bom", "utf16", "utf16-be", "utf16-le-crlf", "utf16-le-no-bom"])
def test_unicode_encodings_are_detected(encoded: bytes) -> None:
    columns, rows, numbers, rejected, source = read_rows(encoded)
    assert columns == ["Name", "City", "Note"]
    assert rows == [["Jürgen", "Köln", "ä"], ["Zoë", "Zürich", "€ sign"]]
    assert numbers == [2, 3]
    assert source.warnings == []


def test_windows_1252_is_the_fallback_with_a_warning() -> None:
    columns, rows, _, _, source = read_rows(SAMPLE.encode("cp1252"))
    assert rows == [["Jürgen", "Köln", "ä"], ["Zoë", "Zürich", "€ sign"]]
    assert len(source.warnings) == 1 and "Windows-1252" in source.warnings[0]


def test_bytes_undefined_in_windows_1252_fall_back_to_latin_1() -> None:
    _, rows, _, _, _ = read_rows(b"a,b\nx\x81y,\xe9\n")
    assert rows == [["x\x81y", "é"]]


def test_declared_encoding_wins_and_wrong_utf8_is_a_clear_error() -> None:
    _, rows, _, _, _ = read_rows("a\nä\n".encode("latin-1"), config={"encoding": "latin-1"})
    assert rows == [["ä"]]
    with pytest.raises(SourceError, match="encoding"):
        read_rows(b"a,b\n" + b"x,y\n" * 10 + b"caf\xe9,1\n", config={"encoding": "utf-8"})


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(delimiter: str) -> None:
    text = delimiter.join(["Id", "Amount", "Label"]) + "\n" + delimiter.join(["1", "1,5", "a b"]) + "\n"
    if delimiter == ",":
        text = 'Id,Amount,Label\n1,"1,5",a b\n'
    columns, rows, _, _, source = read_rows(text.encode())
    assert source.delimiter == delimiter
    assert columns == ["Id", "Amount", "Label"]
    assert rows == [["1", "1,5", "a b"]]


def test_configured_delimiter_overrides_detection() -> None:
    columns, rows, _, _, _ = read_rows(b"a;b,c\n1;2,3\n", config={"delimiter": ","})
    assert columns == ["a;b", "c"] and rows == [["1;2", "3"]]


def test_quoted_fields_with_newlines_quotes_and_crlf_keep_line_numbers() -> None:
    data = (b'Id,Text,Other\r\n'
            b'1,"two\r\nlines",x\r\n'
            b'2,"say ""hi"", ok",y\r\n'
            b'3,"a\r\nb\r\nc",z\r\n'
            b'4,plain,w\r\n')
    _, rows, numbers, rejected, _ = read_rows(data)
    assert rows == [["1", "two\r\nlines", "x"], ["2", 'say "hi", ok', "y"], ["3", "a\r\nb\r\nc", "z"],
                    ["4", "plain", "w"]]
    assert numbers == [2, 4, 5, 8]
    assert rejected == []


def test_ragged_rows_are_rejected_with_line_numbers_and_never_shift_data() -> None:
    data = b'a,b,c\n1,2,3\n"multi\nline",5,6\n7,8\n9,10,11,12\n\n13,14,15\n'
    _, rows, numbers, rejected, _ = read_rows(data)
    assert rows == [["1", "2", "3"], ["multi\nline", "5", "6"], ["13", "14", "15"]]
    assert numbers == [2, 3, 8]
    assert [(r.row_number, r.raw_values) for r in rejected] == [(5, ("7", "8")), (6, ("9", "10", "11", "12"))]
    assert "has 2 fields but the header has 3" in rejected[0].message


def test_ragged_row_deep_in_a_large_file_keeps_every_other_row_once() -> None:
    lines = ["n,text,k"] + [f'{i},"v{i}\nx",{i % 7}' for i in range(1, 30001)]
    lines.insert(25000, "oops,only-two")  # physical line of this record: 2 + 2 * 24999
    columns, rows, numbers, rejected, _ = read_rows(("\n".join(lines) + "\n").encode(), chunk_size=4000)
    assert len(rows) == 30000 and [r[0] for r in rows] == [str(i) for i in range(1, 30001)]
    assert numbers[:2] == [2, 4] and numbers[-1] == 2 + 2 * 29999 + 1
    assert [r.row_number for r in rejected] == [2 + 2 * 24999]
    assert rows[24999] == ["25000", "v25000\nx", str(25000 % 7)]


def test_many_chunks_have_contiguous_row_numbers() -> None:
    data = ("id,v\n" + "".join(f"{i},x\n" for i in range(25000))).encode()
    source = create_source("csv", {}, open_stream=stream_opener(data), chunk_size=10000)
    chunks = list(source.read())
    assert [len(c) for c in chunks] == [10000, 10000, 5000]
    assert chunks[1].row_numbers[0] == 10002 and chunks[2].row_numbers[-1] == 25001
    assert chunks[0].frame["id"].iloc[-1] == "9999"


def test_blank_lines_and_all_empty_records_are_skipped_but_counted() -> None:
    _, rows, numbers, rejected, _ = read_rows(b"\na,b\n\n1,2\n,\n\n3,4\n")
    assert rows == [["1", "2"], ["3", "4"]] and numbers == [4, 7] and rejected == []


def test_duplicate_headers_name_the_columns() -> None:
    with pytest.raises(SourceError) as err:
        read_rows(b"Email,Name,email,Phone,Phone\n1,2,3,4,5\n")
    assert "'Email' in columns 1, 3" in str(err.value) and "'Phone' in columns 4, 5" in str(err.value)


def test_empty_header_names_are_an_error_naming_the_position() -> None:
    with pytest.raises(SourceError, match=r"column 2 \(after 'Name'\)"):
        read_rows(b"Name,,City\n1,2,3\n")


def test_one_thousand_columns() -> None:
    header = ",".join(f"Col{i}" for i in range(1000))
    body = "\n".join(",".join(f"r{r}c{i}" for i in range(1000)) for r in range(3))
    columns, rows, numbers, _, _ = read_rows(f"{header}\n{body}\n".encode())
    assert len(columns) == 1000 and columns[999] == "Col999"
    assert rows[2][999] == "r2c999" and numbers == [2, 3, 4]


@pytest.mark.parametrize("data", [b"", b"\n\n", codecs.BOM_UTF8, b"  \r\n"])
def test_empty_file_is_an_error(data: bytes) -> None:
    with pytest.raises(SourceError, match="empty"):
        read_rows(data)


def test_header_only_file_has_columns_and_zero_rows() -> None:
    columns, rows, _, rejected, _ = read_rows(b"Id,Name\r\n")
    assert columns == ["Id", "Name"] and rows == [] and rejected == []


def test_zip_or_binary_content_is_refused() -> None:
    with pytest.raises(SourceError, match="zip"):
        read_rows(b"PK\x03\x04" + b"\x00" * 100)


def test_row_limit_gives_a_clear_error() -> None:
    with pytest.raises(SourceError, match="more than 5 rows"):
        read_rows(("a\n" + "x\n" * 6).encode(), max_rows=5)


def test_test_connection_reads_the_header_only() -> None:
    source = create_source("csv", {}, open_stream=stream_opener(b"a,a\n"))
    with pytest.raises(SourceError, match="duplicate"):
        source.test_connection()


def test_registry_lists_types_with_json_schemas() -> None:
    types = {t["type"]: t for t in source_types()}
    assert {"csv", "xlsx"} <= set(types)
    assert types["csv"]["config_schema"]["properties"]["delimiter"]["enum"][0] == "auto"


def test_invalid_utf8_deep_in_a_file_names_the_line() -> None:
    data = b"a,b\n" + b"x,y\n" * 5000 + b"caf\xe9,1\n"
    with pytest.raises(SourceError, match="Line 5002 is not valid utf-8"):
        read_rows(data, config={"encoding": "utf-8"})


def test_a_file_that_cannot_be_reopened_is_refused_up_front() -> None:
    class OneShot(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

    with pytest.raises(SourceError, match="cannot be re-read"):
        stream_opener(OneShot())


def test_cr_only_line_ends_are_refused() -> None:
    with pytest.raises(SourceError, match="CR only"):
        read_rows(b"a,b\r1,2\r" * 40000)


def expected_records(text: str, width: int) -> tuple[list[list[str]], list[int], list[int]]:
    """Oracle: Python's csv module over the same text, with each record's first line."""
    good, good_lines, bad_lines = [], [], []
    lines = iter(text.split("\n")[1:])
    state = {"line": 1}

    def feed():
        for line in lines:
            state["line"] += 1
            yield line + "\n"
    reader, start = csv.reader(feed()), 2
    for row in reader:
        if any(row):
            if len(row) == width:
                good.append(row)
                good_lines.append(start)
            else:
                bad_lines.append(start)
        start = state["line"] + 1
    return good, good_lines, bad_lines


@pytest.mark.parametrize(("every", "chunk_size"), [(997, 100), (7, 50)], ids=["few-bad", "many-bad"])
def test_malformed_records_anywhere_never_lose_or_repeat_rows(every: int, chunk_size: int) -> None:
    records = []
    for i in range(1, 3001):
        if i % every == 0:
            records.append(f"{i},bad")
        elif i % 5 == 0:
            records.append(f'{i},"quoted\nnewline",{i}')
        else:
            records.append(f"{i},plain,{i}")
    text = "id,text,copy\n" + "\n".join(records) + "\n"
    good, good_lines, bad_lines = expected_records(text, 3)
    _, rows, numbers, rejected, _ = read_rows(text.encode(), chunk_size=chunk_size)
    assert rows == good
    assert numbers == good_lines
    assert [r.row_number for r in rejected] == bad_lines


def test_default_chunks_hold_about_200_000_cells() -> None:
    from backend.pipeline.chunk import default_chunk_rows
    assert [default_chunk_rows(n) for n in (1, 10, 50, 100, 1000, 5000)] == [50000, 20000, 4000, 2000, 1000, 1000]
    data = ("id,v\n" + "".join(f"{i},x\n" for i in range(60000))).encode()
    chunks = list(create_source("csv", {}, open_stream=stream_opener(data)).read())
    assert [len(c) for c in chunks] == [50000, 10000]


def test_long_stretches_of_blank_records_then_a_malformed_one() -> None:
    data = b"a,b\n1,2\n" + b",\n" * 30000 + b"x\n3,4\n"
    _, rows, numbers, rejected, _ = read_rows(data, chunk_size=1000)
    assert rows == [["1", "2"], ["3", "4"]] and numbers == [2, 30004]
    assert [r.row_number for r in rejected] == [30003]


def test_long_values_survive_both_readers() -> None:
    long = "x" * 200_000
    data = f'a,b\n1,"{long}"\n2,short\nbad\n3,"{long}"\n'.encode()
    _, rows, numbers, rejected, _ = read_rows(data)
    assert rows == [["1", long], ["2", "short"], ["3", long]] and numbers == [2, 3, 5]
    assert [r.row_number for r in rejected] == [4]


def test_a_raw_stream_with_short_reads_is_read_completely() -> None:
    data = ("id,text\n" + "".join(f'{i},"line\nmore {i}"\n' for i in range(3000))).encode("utf-16")

    class Trickle(io.RawIOBase):  # like the blob store's decrypting reader: small, uneven reads
        def __init__(self) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:  # type: ignore[override]
            chunk = self.inner.read(min(len(b), 777))
            b[:len(chunk)] = chunk
            return len(chunk)

    source = create_source("csv", {}, open_stream=Trickle, chunk_size=1000)
    rows = [r for c in source.read() for r in c.frame["text"].tolist()]
    assert len(rows) == 3000 and rows[-1] == "line\nmore 2999"
