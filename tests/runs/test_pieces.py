"""One run, many workers: a large upload split into pieces, taken fairly within each org's cap, finished once.

In this process, as workers would: the run's task splits it, `work_pieces` moves pieces against localorg,
and the run's task again finishes it. Taking is checked on the run_pieces rows themselves.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from rq import Worker
from simple_salesforce import Salesforce
from sqlalchemy import insert, update

from backend.extensions import db
from backend.models import Run
from backend.models.base import TenantScope, new_id, utcnow
from backend.models.pieces import RunPiece
from backend.pipeline.sources.csv_cuts import layout
from backend.runs import piece_work, service, split
from backend.runs import rollback as run_rollback
from backend.runs.lease import LeaseLost
from backend.runs.parts import BOM
from backend.services import get_blob_store, get_redis
from tests.runs.factories import CONTACT_MAPPING, FORCE_APP, account, connect, contacts_csv, csv_job

PIECE_ROWS = 10


@pytest.fixture
def app_config(app_config: dict) -> dict:
    return {**app_config, "piece_rows": PIECE_ROWS}


def _listen(count: int) -> list[Worker]:
    """`count` RQ workers registered on the pieces queue, as started workers are (a run splits only when
    two or more can take pieces); this process moves the pieces itself."""
    workers = [Worker(["pieces"], connection=get_redis(), name=f"listener-{new_id()}") for _ in range(count)]
    for w in workers:
        w.register_birth()
    return workers


@pytest.fixture(autouse=True)
def two_workers(app) -> Iterator[None]:
    workers = _listen(2)
    yield
    for w in workers:
        w.register_death()


def _file(acct_id: str, blob_id: str) -> list[dict[str, str]]:
    data = get_blob_store().read_all(acct_id, blob_id)
    return list(csv.DictReader(io.StringIO(data.removeprefix(BOM).decode())))


def _emails_in_org(org, sf_session) -> list[str]:
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    return sorted(r["Email"] for r in sf.query_all("SELECT Email FROM Contact")["records"])


def test_a_large_upload_moves_in_pieces_and_ends_as_one_run_with_one_pair_of_files(app, make_org, sf_session):
    org = make_org(source_dir=FORCE_APP)
    acct = account()
    data = contacts_csv(35).replace(b"Ann17,Lee17,", b"Ann17,,")  # LastName is required: one row error
    job = csv_job(acct, connect(acct, org), data, CONTACT_MAPPING, api="rest")
    run = service.create_run(TenantScope(acct.id), job.id).run

    assert split.run_import(run.id) == "split into 4 pieces"
    assert db.session.get(Run, run.id).state == "running"
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    history = f"SELECT Status__c, Records_Succeeded__c FROM Import_Run__c WHERE Run_Key__c = '{run.id}'"
    assert [r["Status__c"] for r in sf.query(history)["records"]] == ["running"]  # seen in the org at once
    assert piece_work.work_pieces() == 4
    assert split.run_import(run.id) == "partial"

    run = db.session.get(Run, run.id)
    assert (run.rows_read, run.rows_succeeded, run.rows_failed) == (35, 34, 1)
    expected = sorted(f"ann{i}@example.com" for i in range(35) if i != 17)
    assert _emails_in_org(org, sf_session) == expected  # every row once
    success = _file(acct.id, run.success_blob_id)
    assert [r["Email"] for r in success] == [f"ann{i}@example.com" for i in range(35) if i != 17]  # file order
    [error] = _file(acct.id, run.error_blob_id)
    assert (error["sf__Row"], error["Email"]) == ("19", "ann17@example.com")  # its line in the whole file
    [hist] = sf.query(history)["records"]
    assert (hist["Status__c"], hist["Records_Succeeded__c"]) == ("partial", 34)

    service.rollback(TenantScope(acct.id), run.id)
    run_rollback.rollback_run(run.id)
    assert _emails_in_org(org, sf_session) == []  # the rollback found every piece's records


def test_a_run_cancelled_in_pieces_starts_no_more_pieces_and_offers_what_was_written(app, make_org, sf_session):
    org = make_org(source_dir=FORCE_APP)
    acct = account()
    job = csv_job(acct, connect(acct, org), contacts_csv(35), CONTACT_MAPPING, api="rest")
    run = service.create_run(TenantScope(acct.id), job.id).run
    assert split.run_import(run.id) == "split into 4 pieces"
    assert piece_work.move(piece_work.take(new_id())) == "done"  # rows 0-9 are in the org

    service.cancel(TenantScope(acct.id), run.id)
    assert piece_work.work_pieces(lanes=1) == 1  # the next piece stops before writing; the other two never start
    assert split.run_import(run.id) == "cancelled"
    run = db.session.get(Run, run.id)
    assert (run.state, run.rows_succeeded) == ("cancelled", 10)
    assert _emails_in_org(org, sf_session) == sorted(f"ann{i}@example.com" for i in range(10))
    assert [r["Email"] for r in _file(acct.id, run.success_blob_id)] == [f"ann{i}@example.com" for i in range(10)]


def test_a_small_upload_stays_one_piece(app, org, sf_session):
    acct = account()
    job = csv_job(acct, connect(acct, org), contacts_csv(PIECE_ROWS), CONTACT_MAPPING, api="rest")
    run = service.create_run(TenantScope(acct.id), job.id).run
    assert split.run_import(run.id) == "succeeded"
    assert piece_work.work_pieces() == 0


def test_cuts_fall_between_records_even_inside_quoted_line_breaks():
    data = (b'\xef\xbb\xbfExport of 2026\nName,Note\n'
            + b"".join(b'n%d,"two\nlines, ""quoted"""\n' % i for i in range(7)) + b"last,no line break")
    for size in (1, 5, 4096):  # however the store cut the file into blocks
        found = layout([data[i:i + size] for i in range(0, len(data), size)], skip=3, lines_above=1, piece_rows=3)
        assert data[found.header_start:found.header_end] == b"Name,Note\n"
        assert [(c.first_row, c.rows, c.first_line) for c in found.cuts] == [(0, 3, 3), (3, 3, 9), (6, 2, 15)]
        assert [data[c.start:c.start + 3] for c in found.cuts] == [b"n0,", b"n3,", b"n6,"]
        assert found.cuts[-1].end == len(data)


def _runs_with_pieces(*orgs_and_counts: tuple[str, int]) -> list[str]:
    """A run per (org, pieces), created in this order; returns their ids."""
    acct = account()
    run_ids = []
    for i, (org_key, count) in enumerate(orgs_and_counts):
        job = csv_job(acct, None, contacts_csv(1), CONTACT_MAPPING, name=f"job {i}")
        run = service.create_run(TenantScope(acct.id), job.id).run
        created = utcnow() + timedelta(seconds=i)
        with db.engine.begin() as conn:
            conn.execute(insert(RunPiece), [
                {"id": new_id(), "created_at": created, "run_id": run.id, "piece_no": n, "org_key": org_key,
                 "first_row": n, "rows": 1, "start_offset": n, "end_offset": n + 1, "first_line": n + 2,
                 "first_chunk": n, "state": "free", "attempts": 0, "rows_read": 0, "succeeded": 0, "failed": 0,
                 "created": 0, "error": "", "checkpoint": {}} for n in range(count)])
        run_ids.append(run.id)
    return run_ids


def _take(cap: int = 5, **kw) -> tuple[str, int] | None:
    piece = piece_work.take(new_id(), cap=cap, **kw)
    return None if piece is None else (piece.run_id, piece.piece_no)


def test_pieces_are_taken_lowest_first_and_never_twice(app):
    [run] = _runs_with_pieces(("org-a", 3))
    assert [_take(), _take(), _take(), _take()] == [(run, 0), (run, 1), (run, 2), None]


def test_one_org_never_has_more_pieces_in_flight_than_its_cap(app):
    [a1, a2] = _runs_with_pieces(("org-a", 3), ("org-a", 3))
    assert [_take(cap=4) for _ in range(5)] == [(a1, 0), (a1, 1), (a1, 2), (a2, 0), None]


def test_orgs_take_turns_so_one_huge_run_does_not_starve_the_others(app):
    big, small, other = _runs_with_pieces(("org-a", 20), ("org-b", 2), ("org-c", 2))
    taken = [_take(cap=3) for _ in range(8)]
    assert taken == [(big, 0), (small, 0), (other, 0), (big, 1), (small, 1), (other, 1), (big, 2), None]


def test_a_piece_whose_worker_died_is_taken_again_with_its_journal(app):
    [run] = _runs_with_pieces(("org-a", 1))
    first = piece_work.take("a" * 32)
    journal = piece_work.PieceJournal(first.id, piece_work.PieceLease(first.id, "a" * 32))
    journal.put("bulk2/job/000000", {"id": "750000000000001"})  # what a sink notes before its upload
    assert _take() is None  # held: nobody else takes it

    later = utcnow() + timedelta(minutes=5)  # the first taker stopped renewing: its lease ran out
    again = piece_work.take("b" * 32, now=later)
    assert (again.id, again.attempts, again.taken_by) == (first.id, 2, "b" * 32)
    resumed = piece_work.PieceJournal(again.id, piece_work.PieceLease(again.id, "b" * 32))
    assert resumed.get("bulk2/job/000000") == {"id": "750000000000001"}  # the new taker resumes that job
    with pytest.raises(LeaseLost):  # the old taker, should it wake up, writes nothing more
        journal.put("chunk/000000", {"rows": 1})


def test_a_piece_given_back_for_a_retry_is_not_taken_before_its_time(app):
    [run] = _runs_with_pieces(("org-a", 1))
    with db.engine.begin() as conn:  # what a retriable error (Salesforce down, the API allowance) leaves
        conn.execute(update(RunPiece).values(not_before=utcnow() + timedelta(seconds=60)))
    assert _take() is None
    assert _take(now=utcnow() + timedelta(seconds=61)) == (run, 0)


def test_with_one_worker_listening_a_large_upload_moves_whole(app, org, sf_session):
    """Pieces pay only when shared: one worker moves the run whole (one pair of files, every row once)."""
    for w in Worker.all(connection=get_redis()):
        w.register_death()
    [alone] = _listen(1)
    acct = account()
    job = csv_job(acct, connect(acct, org), contacts_csv(35), CONTACT_MAPPING, api="rest")
    run = service.create_run(TenantScope(acct.id), job.id).run
    assert split.run_import(run.id) == "succeeded"
    assert piece_work.work_pieces() == 0
    assert db.session.query(RunPiece).filter_by(run_id=run.id).count() == 0
    assert _emails_in_org(org, sf_session) == sorted(f"ann{i}@example.com" for i in range(35))
    alone.register_death()


def test_a_piece_that_stops_its_worker_every_time_fails_the_run_with_a_message_instead_of_looping(app, org):
    acct = account()
    job = csv_job(acct, connect(acct, org), contacts_csv(35), CONTACT_MAPPING, api="rest")
    run = service.create_run(TenantScope(acct.id), job.id).run
    assert split.run_import(run.id) == "split into 4 pieces"
    later = utcnow()
    for _ in range(piece_work.MAX_RETRIES + 1):  # each taker died in the piece: its lease ran out, unrenewed
        later += timedelta(minutes=5)
        assert piece_work.take(new_id(), now=later).piece_no == 0
    last = piece_work.take(new_id(), now=later + timedelta(minutes=5))
    assert (last.piece_no, last.attempts) == (0, piece_work.MAX_RETRIES + 2)
    assert piece_work.move(last) == "failed"
    assert piece_work.work_pieces() == 0  # the run's other pieces are not started any more
    assert split.run_import(run.id) == "failed"
    run = db.session.get(Run, run.id)
    said = "The records from line 2 of the file (10 records) stopped the worker moving them 6 times"
    assert said in run.error_summary
