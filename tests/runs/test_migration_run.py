"""A multi-object job run by the worker's task against two localorg orgs: one run, per-step counts, one
result file naming each row's object, and a rollback of every step, children first."""

from __future__ import annotations

import csv
import io

from backend.extensions import db
from backend.models import Job, Run
from backend.models.base import TenantScope
from backend.runs import multi, service
from backend.runs import progress as live
from backend.runs.parts import BOM
from backend.services import get_blob_store, get_redis
from sfdx.localorg.fieldkit import text
from tests.runs.factories import FORCE_APP, account, connect

PLAN = {"steps": [{"object": "Contact", "fields": ["LastName", "AccountId", "ReportsToId", "Code__c"]},
                  {"object": "Account", "fields": ["Name", "ParentId"]}]}


def _rows(acct_id: str, blob_id: str) -> list[dict[str, str]]:
    data = get_blob_store().read_all(acct_id, blob_id)
    return list(csv.DictReader(io.StringIO(data.removeprefix(BOM).decode())))


def _records(org, sobject):
    return [dict(r) for r in org.store.table(sobject).rows.values()]


def test_a_migration_job_runs_as_one_run_and_rolls_back_children_first(app, make_org):
    src, dst = make_org("job-src"), make_org("job-dst", source_dir=FORCE_APP)
    acct = account(retention_days=3)
    src_conn, dst_conn = connect(acct, src), connect(acct, dst)
    top = src.store.insert("Account", {"Name": "Top"})
    sub = src.store.insert("Account", {"Name": "Sub", "ParentId": top})
    boss = src.store.insert("Contact", {"LastName": "Boss", "AccountId": top})
    src.store.insert("Contact", {"LastName": "Staff", "AccountId": sub, "ReportsToId": boss})
    src.schema.get("Contact").add(text("Code__c", 20, custom=True))
    dst.schema.get("Contact").add(text("Code__c", 3, custom=True))
    src.store.insert("Contact", {"LastName": "Long", "Code__c": "TOOLONG"})  # one row the target refuses
    scope = TenantScope(acct.id)
    job = scope.add(Job(name="Seed UAT", kind="migrate", source={"type": "org", "org_connection_id": src_conn.id},
                        org_connection_id=dst_conn.id, object_name="Account, Contact", operation="insert",
                        mapping={"plan": PLAN}))
    db.session.commit()
    run = service.create_run(scope, job.id).run

    assert multi.is_migration(run.id)  # worker.tasks.run_import sends it to run_migration
    assert multi.run_migration(run.id) == "partial"
    run = db.session.get(Run, run.id)
    assert (run.rows_read, run.rows_succeeded, run.rows_failed) == (5, 4, 1)
    accounts = {a["Name"]: a for a in _records(dst, "Account")}
    contacts = {c["LastName"]: c for c in _records(dst, "Contact")}
    assert accounts["Sub"]["ParentId"] == accounts["Top"]["Id"]
    assert contacts["Staff"]["ReportsToId"] == contacts["Boss"]["Id"]
    success = _rows(acct.id, run.success_blob_id)
    assert sorted((r["Object"], r["Source Id"]) for r in success) == sorted(
        [("Account", top), ("Account", sub), ("Contact", boss), ("Contact", _id(src, "Staff"))])
    [error] = _rows(acct.id, run.error_blob_id)
    assert error["Object"] == "Contact" and "Code" in error["sf__Error"]
    steps = live.read(get_redis(), run.id)["steps"]
    assert '"object": "Account"' in steps and '"second_pass": 1' in steps

    service.rollback(scope, run.id)
    assert multi.rollback_migration_run(run.id) == "rolled_back"
    assert _records(dst, "Account") == [] and _records(dst, "Contact") == []
    run = db.session.get(Run, run.id)
    actions = _rows(acct.id, run.rollback_blob_id)
    assert len(actions) >= 4 and {a["sf__Action"] for a in actions} >= {"deleted"}


def _id(org, last_name):
    return next(r["Id"] for r in _records(org, "Contact") if r.get("LastName") == last_name)
