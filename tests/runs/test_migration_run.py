"""A multi-object job run by the worker's task against two localorg orgs: one run, per-step counts, one
result file naming each row's object, and a rollback of every step, children first."""

from __future__ import annotations

import csv
import io

import psycopg
import pytest

from backend.connectors import stored
from backend.connectors.base import ConnectorError
from backend.extensions import db
from backend.models import Job, Run
from backend.models.base import TenantScope
from backend.runs import multi, service
from backend.runs import progress as live
from backend.runs.parts import BOM
from backend.services import get_blob_store, get_redis
from sfdx.localorg.fieldkit import text
from tests.connectors import servers
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


def test_a_migration_job_reads_its_steps_from_a_saved_postgres_connection_by_id(app, make_org):
    dst = make_org("conn-job-dst")
    acct = account()
    dst_conn = connect(acct, dst)
    scope = TenantScope(acct.id)
    with servers.postgres_database() as pg:
        admin_url = servers.pg_admin_url()[2].rsplit("/", 1)[0] + f"/{pg['database']}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE sales.firms (k text, name text)")
            conn.execute("CREATE TABLE sales.staff (k text, last text, firm text)")
            conn.execute("INSERT INTO sales.firms VALUES ('F1', 'Initech'), ('F2', 'Hooli')")
            conn.execute("INSERT INTO sales.staff VALUES ('S1', 'Lumbergh', 'F1'), ('S2', 'Belson', 'F2')")
            conn.execute(f"GRANT SELECT ON sales.firms, sales.staff TO {pg['user']}")
        erp = stored.create(scope, "ERP", "postgresql", {**pg, "tls": False})
        plan = {"steps": [
            {"object": "Contact", "source": {"connection_id": erp.id, "table": "sales.staff", "key": "k",
                                             "columns": {"LastName": "last"}, "references": {"AccountId": "firm"}}},
            {"object": "Account", "source": {"connection_id": erp.id, "table": "sales.firms", "key": "k",
                                             "columns": {"Name": "name"}}}]}
        job = scope.add(Job(name="From ERP", kind="migrate", source={"type": "connections"},
                            org_connection_id=dst_conn.id, object_name="Account, Contact", operation="insert",
                            mapping={"plan": plan}))
        db.session.commit()
        run = service.create_run(scope, job.id).run
        assert multi.run_migration(run.id) == "succeeded"
        with pytest.raises(ConnectorError, match="used by job\\(s\\) 'From ERP'"):
            stored.remove(scope, erp)
    accounts = {a["Name"]: a["Id"] for a in _records(dst, "Account")}
    contacts = {c["LastName"]: c["AccountId"] for c in _records(dst, "Contact")}
    assert contacts == {"Lumbergh": accounts["Initech"], "Belson": accounts["Hooli"]}
