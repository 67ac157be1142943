"""Export runs executed for real against localorg (in this process, as a worker would)."""

from __future__ import annotations

import io
import time

from openpyxl import load_workbook
from simple_salesforce import Salesforce
from sqlalchemy import select

from backend.extensions import db
from backend.models import Blob, Job, Run
from backend.models.base import TenantScope, utcnow
from backend.models.storage import BlobChunk
from backend.runs import export_run, service
from backend.runs.parts import BOM
from backend.services import get_blob_store
from tests.runs.factories import FORCE_APP, account, connect


def _job(acct, conn, **source) -> Job:
    job = TenantScope(acct.id).add(Job(name="Contacts out", kind="export", source=source, org_connection_id=conn.id,
                                       object_name="Contact", operation="export", mapping={}))
    db.session.commit()
    return job


def _run(acct, job) -> Run:
    return service.create_run(TenantScope(acct.id), job.id).run


def test_an_export_run_keeps_an_encrypted_file_with_retention_and_a_run_record_in_the_org(app, make_org,
                                                                                          sf_session):
    org = make_org(source_dir=FORCE_APP)
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    for i in range(3):
        sf.Contact.create({"LastName": f"Lee{i}", "Title": "@boss" if i == 1 else "Rep"})
    acct = account(retention_days=3)
    job = _job(acct, connect(acct, org), soql="SELECT LastName, Title FROM Contact ORDER BY LastName")
    run = _run(acct, job)
    assert export_run.run_export_task(run.id) == "succeeded"
    run = db.session.get(Run, run.id)
    assert (run.rows_read, run.api) == (3, "rest")
    data = get_blob_store().read_all(acct.id, run.success_blob_id)
    assert data == BOM + b'LastName,Title\n"Lee0","Rep"\n"Lee1","\'@boss"\n"Lee2","Rep"\n'
    blob = db.session.get(Blob, run.success_blob_id)
    stored = db.session.scalars(select(BlobChunk.data).where(BlobChunk.blob_id == blob.id)).all()
    assert stored and b"Lee0" not in b"".join(stored)  # encrypted at rest
    assert 2.9 < (blob.expires_at - utcnow()).total_seconds() / 86400 <= 3
    [hist] = sf.query(f"SELECT Status__c, Records_Processed__c, API__c FROM Import_Run__c "
                      f"WHERE Run_Key__c = '{run.id}'")["records"]
    assert (hist["Status__c"], hist["Records_Processed__c"], hist["API__c"]) == ("succeeded", 3, "rest")


def test_incremental_xlsx_runs_move_the_watermark_only_on_success(app, org, sf):
    acct = account()
    conn = connect(acct, org)
    old = sf.Contact.create({"LastName": "Old"})["id"]
    # Written long ago: SOQL datetimes have whole seconds, and a change in the second a run starts comes again.
    org.store.table("Contact").rows[old]["SystemModstamp"] = "2000-01-01T00:00:00.000+0000"
    job = _job(acct, conn, soql="SELECT LastName FROM Contact", format="xlsx", incremental=True)
    run = _run(acct, job)
    assert export_run.run_export_task(run.id) == "succeeded"
    first = db.session.get(Job, job.id).watermark
    sheet = load_workbook(io.BytesIO(get_blob_store().read_all(acct.id, run.success_blob_id))).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [["LastName", "IsDeleted"], ["Old", "false"]]
    sf.Contact.create({"LastName": "New"})
    job.source = {**job.source, "soql": "SELECT LastName, Nope FROM Contact"}
    db.session.commit()
    run = _run(acct, job)
    assert export_run.run_export_task(run.id) == "failed"
    run = db.session.get(Run, run.id)
    assert "No such column 'Nope' on entity 'Contact'" in run.error_summary and run.success_blob_id is None
    assert db.session.get(Job, job.id).watermark == first
    job.source = {**job.source, "soql": "SELECT LastName FROM Contact"}
    db.session.commit()
    run = _run(acct, job)
    assert export_run.run_export_task(run.id) == "succeeded"
    sheet = load_workbook(io.BytesIO(get_blob_store().read_all(acct.id, run.success_blob_id))).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [["LastName", "IsDeleted"], ["New", "false"]]
    assert db.session.get(Job, job.id).watermark >= first  # equal when both runs began in one second


def test_starting_an_export_job_enqueues_the_export_task(app, org):
    from rq import Queue

    from backend.services import get_redis

    acct = account()
    job = _job(acct, connect(acct, org), soql="SELECT Id FROM Contact")
    run, created = service.start_run(TenantScope(acct.id), job.id)
    [queued] = Queue("imports", connection=get_redis()).jobs
    assert created and queued.func_name == "worker.tasks.run_export" and queued.args == (run.id,)


def test_a_saved_export_into_a_postgresql_table_counts_its_rows_and_says_where_it_wrote(app, org, sf):
    import psycopg

    from backend.billing.usage import usage_for
    from backend.connectors import stored
    from tests.connectors import servers

    acct = account()
    conn = connect(acct, org)
    for name in ("Lee", "Kim"):
        sf.Contact.create({"LastName": name, "Title": "=1+1"})
    with servers.postgres_warehouse() as params:
        row = stored.create(TenantScope(acct.id), "warehouse", "postgresql", params)
        db.session.commit()
        job = _job(acct, conn, soql="SELECT Id, LastName, Title FROM Contact",
                   target={"kind": "table", "connection_id": row.id, "table": "contacts"})
        for _ in range(2):
            run = _run(acct, job)
            assert export_run.run_export_task(run.id) == "succeeded"
        run = db.session.get(Run, run.id)
        assert run.rows_succeeded == 2 and run.success_blob_id is None  # nothing kept to download
        assert db.session.get(type(row), row.id).last_used_at is not None  # its stored secret was used
        with psycopg.connect(host=params["host"], port=params["port"], dbname=params["database"],
                             user=params["user"]) as pg:
            got = pg.execute('SELECT "LastName", "Title" FROM contacts ORDER BY 1').fetchall()
        assert got == [("Kim", "=1+1"), ("Lee", "=1+1")]
    assert usage_for(acct.id).used == 4  # two runs of two rows, as imports count
    progress = service.progress(TenantScope(acct.id), run.id)
    assert progress["state"] == "succeeded"


def test_an_export_hitting_the_api_limit_is_rescheduled_like_an_import(app, org, sf):
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    from backend.services import get_redis

    acct = account()
    sf.Contact.create({"LastName": "Lee"})
    job = _job(acct, connect(acct, org), soql="SELECT LastName FROM Contact")
    run = _run(acct, job)
    org.api_used = org.knobs.api_allowance
    assert export_run.run_export_task(run.id) == "paused"
    assert db.session.get(Run, run.id).state == "running"
    [job_id] = ScheduledJobRegistry(queue=Queue("imports", connection=get_redis())).get_job_ids()
    assert job_id.startswith(f"run-{run.id}")
    progress = service.progress(TenantScope(acct.id), run.id)
    assert progress["phase"] == "paused" and "daily API allowance" in progress["pause_reason"]
    org.api_used = 0
    assert export_run.run_export_task(run.id) == "succeeded"
    run = db.session.get(Run, run.id)
    assert run.rows_succeeded == 1 and get_blob_store().read_all(acct.id, run.success_blob_id).endswith(b'"Lee"\n')


def test_an_incremental_export_can_keep_deleted_records_flagged_in_its_table(app, org, sf):
    import pymysql

    from backend.connectors import stored
    from tests.connectors import servers

    acct = account()
    conn = connect(acct, org)
    keep, gone = (sf.Contact.create({"LastName": name})["id"] for name in ("Keep", "Gone"))
    with servers.mysql_warehouse() as params:
        row = stored.create(TenantScope(acct.id), "warehouse", "mysql", params)
        db.session.commit()
        job = _job(acct, conn, soql="SELECT Id, LastName FROM Contact", incremental=True,
                   target={"kind": "table", "connection_id": row.id, "table": "contacts", "deleted": "flag"})
        assert export_run.run_export_task(_run(acct, job).id) == "succeeded"
        sf.Contact.delete(gone)
        time.sleep(1.1)  # SOQL datetimes are whole seconds: a change in the second a run starts comes again
        assert export_run.run_export_task(_run(acct, job).id) == "succeeded"
        mysql = pymysql.connect(host=params["host"], port=params["port"], user=params["user"],
                                database=params["database"])
        with mysql.cursor() as cur:
            cur.execute("SELECT Id, LastName, IsDeleted FROM contacts ORDER BY LastName")
            assert cur.fetchall() == ((gone, "Gone", 1), (keep, "Keep", 0))
        mysql.close()


def test_an_export_cancelled_while_it_waits_for_a_retry_ends_cancelled_without_reading(app, org, sf):
    acct = account()
    sf.Contact.create({"LastName": "Lee"})
    run = _run(acct, _job(acct, connect(acct, org), soql="SELECT LastName FROM Contact"))
    org.api_used = org.knobs.api_allowance
    assert export_run.run_export_task(run.id) == "paused"
    org.api_used = 0
    service.cancel(TenantScope(acct.id), run.id)
    assert export_run.run_export_task(run.id) == "cancelled"
    run = db.session.get(Run, run.id)
    assert run.state == "cancelled" and run.success_blob_id is None and run.rows_read == 0
