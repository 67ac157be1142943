"""run_import and rollback_run executed for real against localorg (in this process, as a worker would)."""

from __future__ import annotations

import csv
import io

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry
from simple_salesforce import Salesforce

from backend.extensions import db
from backend.models import Blob, OrgConnection, Run, User
from backend.models.base import TenantScope, utcnow
from backend.runs import execute, service
from backend.runs import rollback as run_rollback
from backend.runs.parts import BOM
from backend.services import get_blob_store, get_redis
from tests.runs.factories import CONTACT_MAPPING, FORCE_APP, account, connect, contacts_csv, csv_job


def _rows(acct_id: str, blob_id: str) -> list[dict[str, str]]:
    data = get_blob_store().read_all(acct_id, blob_id)
    assert data.startswith(BOM)
    return list(csv.DictReader(io.StringIO(data[len(BOM):].decode())))


def _contacts(org, sf_session) -> list[dict]:
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    return sf.query_all("SELECT Id, Email, LastName FROM Contact")["records"]


def _run(acct, conn, data: bytes, mapping=CONTACT_MAPPING, api="rest") -> Run:
    scope = TenantScope(acct.id)
    return service.create_run(scope, csv_job(acct, conn, data, mapping, api=api).id).run


@pytest.mark.promise("retention-0-to-30-days")
def test_an_import_with_a_bad_row_ends_partial_with_both_files_and_history(app, make_org, sf_session):
    org = make_org(source_dir=FORCE_APP)
    acct = account(retention_days=5)
    conn = connect(acct, org)
    data = contacts_csv(30).replace(b"Ann7,Lee7,", b"Ann7,,")  # LastName is required
    run = _run(acct, conn, data)

    assert execute.run_import(run.id) == "partial"
    run = db.session.get(Run, run.id)
    assert (run.state, run.rows_read, run.rows_succeeded, run.rows_failed, run.api) == ("partial", 30, 29, 1, "rest")
    success = _rows(acct.id, run.success_blob_id)
    errors = _rows(acct.id, run.error_blob_id)
    assert len(success) == 29 and {r["Email"] for r in success} == {f"ann{i}@example.com" for i in range(30)} - {
        "ann7@example.com"}
    assert [(r["sf__Row"], r["Email"]) for r in errors] == [("9", "ann7@example.com")]
    in_org = _contacts(org, sf_session)
    assert sorted(c["Id"] for c in in_org) == sorted(r["sf__Id"] for r in success)
    blob = db.session.get(Blob, run.success_blob_id)
    assert 4.9 < (blob.expires_at - utcnow()).total_seconds() / 86400 <= 5
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    [hist] = sf.query("SELECT Status__c, Records_Succeeded__c, Records_Failed__c, API__c FROM Import_Run__c "
                      f"WHERE Run_Key__c = '{run.id}'")["records"]
    assert (hist["Status__c"], hist["Records_Succeeded__c"], hist["Records_Failed__c"], hist["API__c"]) == (
        "partial", 29, 1, "rest")
    progress = service.progress(TenantScope(acct.id), run.id)
    assert progress["finished"] and progress["succeeded"] == 29 and progress["error_file"] == run.error_blob_id

    assert execute.run_import(run.id) == "partial"  # a second delivery of the job changes nothing
    assert len(_contacts(org, sf_session)) == 29


def test_a_run_started_by_a_user_with_the_api_left_to_the_engine_finishes(app, org, sf_session):
    # The shape of every run started from the UI: a user who started it (run history names them) and
    # the API chosen by the engine mid-run. Once, learning that API wrote the Run through the worker's
    # session, whose next query (the user's Salesforce id) flushed it and kept the row locked: the
    # journal's next write then waited forever on PostgreSQL ("database is locked" on SQLite).
    acct = account()
    user = User(account_id=acct.id, email="ada@example.com", salesforce_user_id=org.admin_id[:18])
    db.session.add(user)
    db.session.commit()
    job = csv_job(acct, connect(acct, org), contacts_csv(3), CONTACT_MAPPING, api="auto")
    run = service.create_run(TenantScope(acct.id), job.id, initiated_by=user.id).run

    assert execute.run_import(run.id) == "succeeded"
    run = db.session.get(Run, run.id)
    assert (run.state, run.api, run.rows_succeeded) == ("succeeded", "rest", 3)
    assert len(_contacts(org, sf_session)) == 3


def test_an_org_without_the_package_objects_still_imports(app, org, sf_session):
    acct = account()
    run = _run(acct, connect(acct, org), contacts_csv(5))
    assert execute.run_import(run.id) == "succeeded"
    assert len(_contacts(org, sf_session)) == 5


def test_cancel_takes_effect_before_the_next_chunk(app, org, sf_session):
    acct = account()
    run = _run(acct, connect(acct, org), contacts_csv(5))
    run.transition("running")  # a worker picked it up ...
    db.session.commit()
    service.cancel(TenantScope(acct.id), run.id)  # ... and the user cancels before its first chunk
    assert execute.run_import(run.id) == "cancelled"
    run = db.session.get(Run, run.id)
    assert run.state == "cancelled" and run.rows_succeeded == 0 and _contacts(org, sf_session) == []


def test_api_limit_reschedules_the_run_instead_of_failing_it(app, org):
    acct = account()
    run = _run(acct, connect(acct, org), contacts_csv(5))
    org.api_used = org.knobs.api_allowance
    assert execute.run_import(run.id) == "paused"
    run = db.session.get(Run, run.id)
    assert run.state == "running" and run.error_summary == ""
    [job_id] = ScheduledJobRegistry(queue=Queue("imports", connection=get_redis())).get_job_ids()
    assert job_id.startswith(f"run-{run.id}")
    progress = service.progress(TenantScope(acct.id), run.id)
    assert progress["phase"] == "paused" and progress["paused_until"] > utcnow().isoformat()
    assert "daily API allowance" in progress["pause_reason"]  # the reason is on the run (its journal) ...
    get_redis().delete(f"inflow:run:{run.id}:progress")
    # ... not only in Redis
    assert "daily API allowance" in service.progress(TenantScope(acct.id), run.id)["pause_reason"]

    # Cancelling the paused run does not wait for the rescheduled attempt: it is queued again at once.
    service.cancel(TenantScope(acct.id), run.id)
    registry = ScheduledJobRegistry(queue=Queue("imports", connection=get_redis()))
    assert registry.get_job_ids() == [] and len(Queue("imports", connection=get_redis()).get_job_ids()) == 1
    assert execute.run_import(run.id) == "cancelled"


def test_a_disconnected_instance_fails_the_run_with_a_message(app, org):
    acct = account()
    conn = connect(acct, org)
    run = _run(acct, conn, contacts_csv(2))
    conn.status = "disconnected"
    db.session.commit()
    assert execute.run_import(run.id) == "failed"
    assert "reconnect" in db.session.get(Run, run.id).error_summary


def test_rollback_deletes_what_the_run_created_and_writes_its_own_file(app, org, sf_session):
    acct = account()
    run = _run(acct, connect(acct, org), contacts_csv(12))
    assert execute.run_import(run.id) == "succeeded"
    assert len(_contacts(org, sf_session)) == 12
    service.rollback(TenantScope(acct.id), run.id)
    assert run_rollback.rollback_run(run.id) == "rolled_back"
    run = db.session.get(Run, run.id)
    assert run.state == "rolled_back" and _contacts(org, sf_session) == []
    rows = _rows(acct.id, run.rollback_blob_id)
    assert len(rows) == 12 and {r["sf__Action"] for r in rows} == {"deleted"} and not any(r["sf__Error"] for r in rows)
    progress = service.progress(TenantScope(acct.id), run.id)
    assert (progress["rolled_back"], progress["rollback_failed"], progress["rollback_file"]) == (
        12, 0, run.rollback_blob_id)


def test_a_file_larger_than_the_reader_s_blocks_is_read_whole_from_the_blob_store(app, org, sf_session):
    # pyarrow reads blocks after the first from a thread of its own; the encrypted blob must stream there too.
    acct = account()
    note = "x" * 25_000
    data = ("Last Name,Email,Description\n" + "".join(
        f"Lee{i},lee{i}@example.com,{note}\n" for i in range(250))).encode()
    assert len(data) > 6_000_000
    mapping = {"object": "Contact", "operation": "insert", "fields": [
        {"field": "LastName", "column": "Last Name"}, {"field": "Email", "column": "Email"},
        {"field": "Description", "column": "Description"}]}
    run = _run(acct, connect(acct, org), data, mapping)
    assert execute.run_import(run.id) == "succeeded"
    assert db.session.get(Run, run.id).rows_succeeded == 250 and len(_contacts(org, sf_session)) == 250


def test_an_upload_that_expired_before_the_run_read_it_fails_the_run_with_a_message(app, org):
    from backend.models import Job

    acct = account()
    run = _run(acct, connect(acct, org), contacts_csv(3))
    blob = db.session.get(Blob, db.session.get(Job, run.job_id).source["blob_id"])
    blob.expires_at = utcnow()  # e.g. a run paused an hour for the org's API allowance
    db.session.commit()
    assert execute.run_import(run.id) == "failed"
    run = db.session.get(Run, run.id)
    assert "uploaded file has expired" in run.error_summary and run.success_blob_id and run.error_blob_id


def test_a_run_records_when_the_orgs_stored_tokens_were_last_used(app, org):
    acct = account()
    conn = connect(acct, org)
    assert conn.last_used_at is None
    before = utcnow()
    run = _run(acct, conn, contacts_csv(2))
    assert execute.run_import(run.id) == "succeeded"
    db.session.expire_all()
    assert db.session.get(OrgConnection, conn.id).last_used_at >= before.replace(microsecond=0)
