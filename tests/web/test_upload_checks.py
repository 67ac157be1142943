"""Uploads are judged at the door (issue 14): binaries and archives uploaded as CSV answer 400, bodies over
the size limit 413 (declared or streamed), and in every refused case nothing is stored."""

from __future__ import annotations

import codecs
import gzip
import http.client
import io
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from backend.extensions import db
from backend.models.storage import Blob, BlobChunk
from backend.pipeline.sources.sniff import NOT_CSV_BINARY, NOT_CSV_GZIP, NOT_CSV_XLS, NOT_CSV_ZIP
from backend.storage.blobs import CHUNK_SIZE
from sfdx.localorg.pytest_plugin import localorg, org  # noqa: F401
from tests.web.canvas_support import bearer, canvas_config, install, launch

LIMIT = 3 * CHUNK_SIZE  # over one blob chunk: a body cut off mid-stream has written chunks to take back
CSV = b"First Name,Last Name\nAda,Lovelace\nGrace,Hopper\n"


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return {**canvas_config(app_config, localorg, monkeypatch), "max_upload_bytes": LIMIT}


@pytest.fixture
def token(client, org) -> str:  # noqa: F811
    install(org)
    return launch(client, org)


def workbook() -> bytes:
    import openpyxl

    book, data = openpyxl.Workbook(), io.BytesIO()
    book.active.append(["First Name", "Last Name"])
    book.save(data)
    return data.getvalue()


def post_files(client, token: str, *files: tuple[bytes, str]):
    # Encoded in memory: the test client would spool a large body to a file it never closes.
    fields = MultiDict([("file", FileStorage(io.BytesIO(data), name)) for data, name in files])
    boundary, body = encode_multipart(fields)
    return client.post("/api/sources/upload", headers=bearer(token), data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def stored() -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(Blob)),
            db.session.scalar(select(func.count()).select_from(BlobChunk)))


REFUSED = {
    "an Excel workbook named .csv": (workbook(), "people.csv", NOT_CSV_ZIP),
    "an empty zip archive": (b"PK\x05\x06" + b"\x00" * 18, "data.txt", NOT_CSV_ZIP),
    "an old Excel file": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "people.xls", NOT_CSV_XLS),
    "a gzip file": (gzip.compress(CSV), "people.csv.gz", NOT_CSV_GZIP),
    "a PNG image": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "scan.csv", NOT_CSV_BINARY),
    "text with NUL bytes": (CSV + b"Alan\x00,Turing\n", "people.csv", NOT_CSV_BINARY),
    "UTF-16 that is not valid UTF-16": (codecs.BOM_UTF16_LE + "A,B\n".encode("utf-16-le") + b"\x00\xdc\x00\xdc",
                                        "people.csv", NOT_CSV_BINARY),
    "several MB of binary": (b"\x00\x01\x02\x03" * (CHUNK_SIZE // 2), "big.csv", NOT_CSV_BINARY),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_binary_or_archive_uploaded_as_csv_answers_400_and_stores_nothing(client, token, case):
    data, name, message = REFUSED[case]
    answer = post_files(client, token, (data, name))
    assert answer.status_code == 400, answer.get_data(as_text=True)[:300]
    assert answer.get_json() == {"error": "upload_refused", "message": message}
    assert stored() == (0, 0)


def test_text_in_every_supported_encoding_and_workbooks_uploaded_as_excel_pass(client, token):
    text = "Prénom,Nom\nAda,Lovelace\n"
    for data, name in ((text.encode(), "a.csv"), (codecs.BOM_UTF8 + text.encode(), "b.csv"),
                       (text.encode("cp1252"), "c.csv"), (codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "d.csv"),
                       (text.encode("utf-16-le"), "e.txt"), (workbook(), "people.xlsx")):
        answer = post_files(client, token, (data, name))
        assert answer.status_code == 201 and answer.get_json()["columns"][0] in ("Prénom", "First Name"), name
    assert stored()[0] == 6


def test_a_refused_second_file_takes_the_first_one_back_with_it(client, token):
    answer = post_files(client, token, (CSV * 30_000, "good.csv"), (workbook(), "bad.csv"))
    assert answer.status_code == 400 and answer.get_json()["message"] == NOT_CSV_ZIP
    assert stored() == (0, 0)


def _multipart_head(boundary: str, name: str) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()


def _connect(live_server: str, token: str, headers: dict[str, str]) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection(urlsplit(live_server).netloc, timeout=60)
    conn.putrequest("POST", "/api/sources/upload")
    for key, value in {**bearer(token), "Content-Type": "multipart/form-data; boundary=b0und", **headers}.items():
        conn.putheader(key, value)
    conn.endheaders()
    return conn


def test_a_declared_content_length_over_the_limit_answers_413_before_reading(live_server, token):
    conn = _connect(live_server, token, {"Content-Length": str(LIMIT + 1)})
    answer = conn.getresponse()  # the body is never sent: the header alone decides
    body = answer.read()
    conn.close()
    assert answer.status == 413 and answer.getheader("Content-Type") == "application/json"
    assert b'"error":"too_large"' in body.replace(b" ", b"") and b"3 MiB" in body
    assert stored() == (0, 0)


def test_a_streamed_body_over_the_limit_answers_413_and_takes_back_what_was_written(live_server, token):
    conn = _connect(live_server, token, {"Transfer-Encoding": "chunked"})
    line = b"Ada,Lovelace,ada@example.com,Analytical Engines\n"
    parts = [_multipart_head("b0und", "big.csv"), b"Name,Last,Email,Account\n"]
    parts += [line * (64 * 1024 // len(line))] * (LIMIT // (64 * 1024) + 1)  # no length announced: > LIMIT
    for part in parts:
        conn.send(b"%x\r\n%s\r\n" % (len(part), part))
    answer = conn.getresponse()
    body = answer.read()
    conn.close()
    assert answer.status == 413 and b"too_large" in body
    assert stored() == (0, 0)
