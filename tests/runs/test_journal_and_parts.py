"""The run journal survives a new process (it is in the Run row); result parts join into one file per kind."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import update

from backend.extensions import db
from backend.models import Blob, Run
from backend.models.base import utcnow
from backend.pipeline.results import ErrorFileWriter, SuccessFileWriter
from backend.runs import journal as run_journal
from backend.runs.journal import RunJournal, RunRowLocked
from backend.runs.parts import BOM, BlobResultParts
from backend.services import get_blob_store
from backend.storage.blobs import CHUNK_SIZE
from tests.runs.factories import account, bare_run


def test_journal_puts_are_durable_and_seen_by_a_fresh_reader(app):
    run = bare_run(account())
    journal = RunJournal(run.id)
    journal.put("chunk/000001", {"done": True, "succeeded": 10, "failed": 0})
    journal.put("bulk2/job", "750xx0000000001")
    # What a new worker process sees: only what was committed to the database.
    db.session.remove()
    again = RunJournal(run.id)
    assert again.get("chunk/000001") == {"done": True, "succeeded": 10, "failed": 0}
    assert again.get("bulk2/job") == "750xx0000000001"
    assert again.get("chunk/000002") is None
    assert db.session.get(Run, run.id).checkpoint["bulk2/job"] == "750xx0000000001"


def test_journal_values_are_copies(app):
    journal = RunJournal(bare_run(account()).id)
    journal.put("k", {"ids": [1]})
    got = journal.get("k")
    got["ids"].append(2)
    assert journal.get("k") == {"ids": [1]}


def test_a_put_waiting_on_a_transaction_that_stays_open_fails_instead_of_hanging(app, monkeypatch):
    run = bare_run(account())
    journal = RunJournal(run.id)
    monkeypatch.setattr(run_journal, "LOCK_TIMEOUT_MS", 200)  # production waits 30 s
    with db.engine.connect() as holder:  # e.g. a session that wrote the run and never committed
        holder.execute(update(Run).where(Run.id == run.id).values(phase="held"))
        with pytest.raises(RunRowLocked, match="held by another transaction"):
            journal.put("chunk/000000", {"rows": 1})
        holder.rollback()
    journal.put("chunk/000000", {"rows": 1})  # once the other transaction ends, writes go through
    assert RunJournal(run.id).get("chunk/000000") == {"rows": 1}


def _part(columns, rows, *, bom=False) -> bytes:
    buf = io.BytesIO()
    import pandas as pd

    frame = pd.DataFrame({c: [r[i] for r in rows] for i, c in enumerate(columns)}, dtype="string")
    SuccessFileWriter(buf, columns, bom=bom).write(frame, [f"003{i:015d}" for i in range(len(rows))],
                                                   [True] * len(rows))
    return buf.getvalue()


@pytest.mark.promise("results-kept-14-days")
def test_parts_join_into_one_file_with_one_header_and_a_bom(app):
    acct = account(retention_days=3)
    run = bare_run(acct)
    parts = BlobResultParts(get_blob_store(), acct.id, run.id, acct.retention_days)
    cols = ["Name", "Note"]
    with parts.open_part("success/000002") as out:
        out.write(_part(cols, [["Bo", "second"]]))
    with parts.open_part("success/000001") as out:
        out.write(_part(cols, [["Al", 'multi\nline "quoted"']]))
    with parts.open_part("success/000010") as out:
        out.write(_part(cols, [["Cy", "tenth"]]))
    blob_id = parts.assemble("success/", "s.csv", lambda s: SuccessFileWriter(s, cols))
    data = get_blob_store().read_all(acct.id, blob_id)
    assert data.startswith(BOM) and data.count(BOM) == 1
    rows = list(csv.reader(io.StringIO(data[len(BOM):].decode())))
    assert rows[0] == ["sf__Id", "sf__Created", "Name", "Note"]
    assert [r[2] for r in rows[1:]] == ["Al", "Bo", "Cy"]
    assert rows[1][3] == 'multi\nline "quoted"'
    blob = db.session.get(Blob, blob_id)
    days = (blob.expires_at - utcnow()).total_seconds() / 86400
    assert blob.kind == "result" and 2.9 < days <= 3


def test_parts_of_several_blocks_join_whole_even_with_a_header_longer_than_a_block(app):
    """Parts are copied a block at a time; the header dropped from the second part may span blocks."""
    acct = account()
    run = bare_run(acct)
    parts = BlobResultParts(get_blob_store(), acct.id, run.id, acct.retention_days)
    # Twelve names of 100,000 characters (csv's field limit is 131,072), one with a quoted line break.
    cols = [f"{'x' * 100_000}{i}" for i in range(11)] + ["multi\nline"]
    assert len(",".join(cols)) > CHUNK_SIZE
    rows = [[f"row {i}", *["v" * 400] * 11] for i in range(900)]  # about 2 MiB a part
    for n, chunk in ((1, rows[:450]), (2, rows[450:])):
        with parts.open_part(f"success/{n:06d}") as out:
            out.write(_part(cols, chunk))
    blob_id = parts.assemble("success/", "s.csv", lambda s: SuccessFileWriter(s, cols))
    data = get_blob_store().read_all(acct.id, blob_id)
    assert data.startswith(BOM) and data.count(BOM) == 1
    got = list(csv.reader(io.StringIO(data[len(BOM):].decode())))
    assert got[0][2:] == cols and [r[2:] for r in got[1:]] == rows


def test_a_rewritten_part_replaces_the_old_one_and_a_failed_write_counts_for_nothing(app):
    acct = account()
    run = bare_run(acct)
    parts = BlobResultParts(get_blob_store(), acct.id, run.id, acct.retention_days)
    cols = ["Name"]
    with parts.open_part("success/000001") as out:
        out.write(_part(cols, [["first attempt"]]))
    try:
        with parts.open_part("success/000002") as out:
            out.write(_part(cols, [["half"]]))
            raise RuntimeError("worker died mid-write")
    except RuntimeError:
        pass
    assert not parts.has_part("success/000002")
    with parts.open_part("success/000001") as out:  # a resumed run writes the chunk again
        out.write(_part(cols, [["second attempt"]]))
    assert parts.part_names("success/") == ["success/000001"]
    text = get_blob_store().read_all(acct.id, parts.assemble("success/", "s.csv",
                                                               lambda s: SuccessFileWriter(s, cols))).decode()
    assert "second attempt" in text and "first attempt" not in text and "half" not in text


def test_no_parts_gives_a_header_only_file_and_snapshots_are_read_back(app):
    acct = account()
    run = bare_run(acct)
    parts = BlobResultParts(get_blob_store(), acct.id, run.id, acct.retention_days)
    blob_id = parts.assemble("error/", "e.csv", lambda s: ErrorFileWriter(s, ["Email"]))
    assert get_blob_store().read_all(acct.id, blob_id) == BOM + b"sf__Row,sf__Error,Email\r\n"
    with parts.snapshot("rollback/after/000001") as out:
        out.write(b'{"ids": ["003"]}')
    assert parts.read("rollback/after/000001").read() == b'{"ids": ["003"]}'
    assert parts.read("rollback/after/000002") is None
    assert db.session.get(Blob, get_blob_store().get_blob(acct.id, blob_id).id).kind == "result"
    parts.delete_parts(["error/", "rollback/"])
    assert parts.part_names() == []
