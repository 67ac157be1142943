"""Bulk pages written at the byte level (bulk_csv) give the same file as the Arrow path (tables + cells)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest

from backend.pipeline.export.cells import prepare
from backend.pipeline.export.read import BulkPage
from backend.pipeline.export.soql import Column
from backend.pipeline.export.writers import CsvExportWriter

COLUMNS = [Column("Id", "id"), Column("Name"), Column("Phone", "phone"), Column("Amount", "currency"),
           Column("CreatedDate", "datetime"), Column("Birthdate", "date"), Column("Notes", "textarea")]
HEADER = b'"Id","Name","Phone","Amount","CreatedDate","Birthdate","Notes"\n'

# Pages the byte path must take: formula starts to escape, quotes, commas, line breaks and risky bytes inside
# cells (not at their start), empty cells, non-ASCII, UTC datetimes with and without milliseconds.
TAKEN = {
    "risky starts": (b'"001A","=SUM(A1)","+1 555 0100","12.5","2021-07-08T15:13:17.000Z","1990-01-02","@home"\n'
                     b'"001B","-minus","\ttab","","","","\rcarriage"\n'
                     b'"001C","\x00nul","=1+1","3","2021-07-08T15:13:17Z","","-"\n'),
    "inside cells": (b'"001D","a,""=b","x\n=y","0","","","line 1\r\nline ""2"", with a comma"\n'
                     b'"001E","""=quoted","\'=apostrophe","1e3","","","Z\xc3\xbcrich \xe6\x97\xa5\xe6\x9c\xac"\n'
                     b'"001F","","","","","",""\n'),
    "no risky cell, negative number": b'"001G","Ann","555","-5","2021-07-08T15:13:17.000Z","","plain"\n',
    "no final line break": b'"001H","=x","","","","",""',
    "datetimes with +0000, as REST and localorg write them": (
        b'"001I","=a","","","2021-07-08T15:13:17.000+0000","","ends +0000 inside"\n'
        b'"001J","","","","2021-07-08T15:13:17+0000","","+0000"""\n'),
}
# Pages the byte path leaves to Arrow (the file must still be the same).
LEFT = {
    "datetime in another zone": b'"001I","Ann","","","2021-07-08T15:13:17.000+0200","",""\n',
    "+0000 datetime beside text ending like one": b'"001I","Ann","","","2021-07-08T15:13:17.000+0000","","x+0000"\n',
    "negative number beside a risky cell": b'"001J","=x","","-5","","",""\n',
    "unquoted cell": b'"001K",Ann,"","","","",""\n',
    "another width": b'"001L","Ann"\n',
}


def write(page: BulkPage, byte_path: bool) -> bytes:
    out = io.BytesIO()
    writer = CsvExportWriter(out, [c.name for c in COLUMNS])
    if byte_path:
        pieces = page.csv_rows(None)
        assert pieces is not None
        writer.write_raw(pieces, page.rows or 0)
    else:
        writer.write(prepare(page.table(), COLUMNS, None))
    return out.getvalue()


@pytest.mark.parametrize("name", TAKEN)
def test_pages_the_byte_path_takes_come_out_as_the_arrow_path_writes_them(name):
    body = HEADER + TAKEN[name]
    page = BulkPage(body, COLUMNS, body.count(b'\n"'))
    assert write(page, byte_path=True) == write(page, byte_path=False)


def test_the_escape_lands_on_cell_starts_only():
    page = BulkPage(HEADER + TAKEN["risky starts"] + TAKEN["inside cells"], COLUMNS, 6)
    got = list(csv.reader(io.StringIO(write(page, byte_path=True).decode("utf-8-sig"))))
    assert got[1][:4] == ["001A", "'=SUM(A1)", "'+1 555 0100", "12.5"] and got[1][6] == "'@home"
    assert got[2][1:3] == ["'-minus", "'\ttab"] and got[2][6] == "'\rcarriage"
    assert got[3][1] == "'\x00nul" and got[3][6] == "'-"
    assert got[4][1:3] == ['a,"=b', "x\n=y"] and got[5][1:3] == ['"=quoted', "'=apostrophe"]


@pytest.mark.parametrize("name", LEFT)
def test_pages_the_byte_path_cannot_be_sure_of_go_through_arrow(name):
    page = BulkPage(HEADER + LEFT[name], COLUMNS, 1)
    assert page.csv_rows(None) is None
    if name != "another width":
        assert write(page, byte_path=False).count(b"\n") == 2  # header and the one row, through Arrow


def test_a_time_zone_sends_datetimes_through_arrow_and_leaves_other_pages_alone():
    body = HEADER + TAKEN["risky starts"]
    assert BulkPage(body, COLUMNS, 3).csv_rows(None) is not None
    from backend.pipeline.export.zones import zone

    assert BulkPage(body, COLUMNS, 3).csv_rows(zone("Europe/Berlin")) is None
    no_datetimes = [c for c in COLUMNS if c.type != "datetime"]
    text = b'"Id","Name"\n"001A","=x"\n'
    assert BulkPage(text, no_datetimes[:2], 1).csv_rows(zone("Europe/Berlin")) is not None


def test_the_export_engine_imports_neither_the_web_app_nor_pandas_nor_pyarrow():
    code = ("import sys, backend.pipeline.export, backend.salesforce.client\n"
            "print(sorted(m for m in ('flask', 'sqlalchemy', 'alembic', 'pandas', 'pyarrow') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_random_pages_of_tricky_cells_come_out_the_same_either_way():
    import random

    rng = random.Random(17)
    alphabet = ["=", "+", "-", "@", "\t", "\r", "\x00", "'", '"', ",", "\n", "\r\n", "a", "Z\u00fcrich", "7", " ",
                "+0000"]

    def cell(kind: str) -> str:
        if kind == "datetime":
            return rng.choice(["", "2021-07-08T15:13:17.000Z", "1999-12-31T23:59:59Z", "2001-02-03T04:05:06.789+0000"])
        if kind == "currency":
            return rng.choice(["", "-5", "12.5", "0"])
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(4)))

    taken = 0
    for _ in range(200):
        rows = [[cell(c.type) for c in COLUMNS] for _ in range(rng.randrange(1, 6))]
        body = HEADER + b"".join(
            (",".join('"' + v.replace('"', '""') + '"' for v in row) + "\n").encode() for row in rows)
        page = BulkPage(body, COLUMNS, len(rows))
        if page.csv_rows(None) is not None:
            taken += 1
            assert write(page, byte_path=True) == write(page, byte_path=False), body
    assert taken >= 50  # half of them here: the rest hold negative numbers beside risky text
