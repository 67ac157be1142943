"""Bulk 2.0 result files: the line-at-a-time rendering of plain uploads writes the very bytes csv would.

Plain uploads (no quote character, LF or CRLF endings) have their result files built line by line;
every other upload goes through csv.reader and csv.writer. A client cannot tell which: this holds it
over many random uploads, every result kind, both API generations and every dialect.
"""

from __future__ import annotations

import random

import pytest

from sfdx.localorg.bulk2_csv import DELIMITERS, LINE_ENDINGS, plain_lines
from sfdx.localorg.bulk2_jobs import IngestJob
from sfdx.localorg.bulk_engine import CREATED, FAILED, UPDATED, RowBatch
from sfdx.localorg.org import Knobs, Org

# Letters, accents, spaces, other dialects' delimiters and a CR now and then; the quote and NUL
# only in the uploads that must take the csv path.
PLAIN = "abcXYZ019 é漢-_.@:/\t;|^`,"


@pytest.fixture(scope="module")
def local() -> Org:
    return Org("results", "00D000000000001AAA", "na1", Knobs())


def _upload(rng: random.Random, delimiter: str, newline: str, alphabet: str) -> tuple[bytes, int]:
    """A header and 0-60 rows of 1-5 values (ragged on purpose), blank lines among them."""
    cols = rng.randint(1, 5)
    lines = [delimiter.join(f"Col{i}" for i in range(cols))]
    rows = 0
    for _ in range(rng.randint(0, 60)):
        if rng.random() < 0.05:
            lines.append("")
            continue
        values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(1, 5))]
        lines.append(delimiter.join(values))
        rows += 1
    text = newline.join(lines) + (newline if rng.random() < 0.8 else "")
    return ("\ufeff" if rng.random() < 0.1 else "").encode() + text.encode(), rows


def _job(local: Org, rng: random.Random, data: bytes, rows: int, delimiter: str, line_ending: str,
         version: str) -> IngestJob:
    job = IngestJob(local, "insert", "Contact", local.admin_id, version, delimiter=delimiter, line_ending=line_ending)
    batch = RowBatch(data, DELIMITERS[delimiter])
    for i in range(rng.randint(0, rows)):   # rows past the last outcome are unprocessed
        status = rng.choice((CREATED, UPDATED, FAILED))
        rid = f"003{i:015d}" if status != FAILED or rng.random() < 0.5 else None
        batch.add(status, rid, 'REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName "x" --'
                  if status == FAILED else None)
    if rng.random() < 0.5:
        batch.freeze()
    job.batch = batch
    return job


@pytest.mark.parametrize("delimiter", sorted(DELIMITERS))
def test_plain_uploads_give_the_bytes_csv_writes(local, delimiter):
    rng = random.Random(f"plain-{delimiter}")
    plain = 0
    for _ in range(150):
        line_ending = rng.choice(sorted(LINE_ENDINGS))
        data, rows = _upload(rng, DELIMITERS[delimiter], rng.choice(("\n", "\r\n")), PLAIN)
        job = _job(local, rng, data, rows, delimiter, line_ending, rng.choice(("52.0", "66.0")))
        lines = plain_lines(data.decode("utf-8-sig"), DELIMITERS[delimiter])
        assert lines is not None, data
        plain += 1
        for kind in ("success", "failed", "unprocessed"):
            fast = b"".join(job.result_chunks(kind))
            assert fast == b"".join(job._csv_result_chunks(kind, data)), (kind, data)
            assert fast.decode().startswith(
                {"success": '"sf__Id","sf__Created"', "failed": '"sf__Id","sf__Error"', "unprocessed": "Col0"}[kind]
                .replace(",", DELIMITERS[delimiter]))
    assert plain == 150


@pytest.mark.parametrize("text", [
    'Name\n"Acme, Inc."\n',          # a quoted value
    "Name\nA\rB\n",                  # a bare CR ends a row in csv's reading
    "Name\nA\0B\n",                  # NUL
    "Name\n" + "x" * 200_000 + "\n",  # over csv's field size limit
])
def test_uploads_csv_reads_differently_are_not_plain(text):
    assert plain_lines(text, ",") is None


def test_quoted_uploads_still_echo_their_rows(local):
    data = b'FirstName,LastName\n"Ann","O""Brien"\nBo,"Smith, Jr."\n'
    job = IngestJob(local, "insert", "Contact", local.admin_id, "66.0")
    job.batch = RowBatch(data)
    job.batch.add(CREATED, "003000000000000AAA")
    job.batch.add(FAILED, None, "X:y:--")
    assert b"".join(job.result_chunks("success")).decode() == (
        '"sf__Id","sf__Created",FirstName,LastName\n"003000000000000AAA","true","Ann","O""Brien"\n')
    assert b"".join(job.result_chunks("failed")).decode() == (
        '"sf__Id","sf__Error",FirstName,LastName\n"","X:y:--","Bo","Smith, Jr."\n')
