"""`flask --app backend inflow rollback RUN_ID`: a three-step migration run undone children first, an import
run undone, and runs that cannot be rolled back refused."""

from __future__ import annotations

from backend.extensions import db
from backend.models import Job, Run
from backend.models.base import TenantScope
from backend.runs import execute, multi, service
from tests.migration.helpers import rows
from tests.runs.factories import CONTACT_MAPPING, account, connect, contacts_csv, csv_job


def _invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=["inflow", "rollback", *args])


def _migration_run(src, dst):
    acct = account()
    src_conn, dst_conn = connect(acct, src), connect(acct, dst)
    scope = TenantScope(acct.id)
    job = scope.add(Job(name="Seed UAT", kind="migrate", source={"type": "org", "org_connection_id": src_conn.id},
                        org_connection_id=dst_conn.id, object_name="Account, Contact, Opportunity",
                        operation="insert", mapping={"plan": {"steps": [
                            {"object": "Opportunity", "fields": ["Name", "StageName", "CloseDate", "AccountId"]},
                            {"object": "Contact", "fields": ["LastName", "AccountId"]},
                            {"object": "Account", "fields": ["Name"], "match": ["Name"]}]}}))
    db.session.commit()
    return service.create_run(scope, job.id).run


def test_a_three_step_migration_run_is_rolled_back_children_first(app, make_org):
    src, dst = make_org("rb-src"), make_org("rb-dst")
    acme = src.store.insert("Account", {"Name": "Acme"})
    beta = src.store.insert("Account", {"Name": "Beta"})
    src.store.insert("Contact", {"LastName": "Ada", "AccountId": acme})
    src.store.insert("Contact", {"LastName": "Bob", "AccountId": beta})
    src.store.insert("Opportunity", {"Name": "Acme deal", "StageName": "Prospecting", "CloseDate": "2027-03-01",
                                     "AccountId": acme})
    existing = dst.store.insert("Account", {"Name": "Beta", "Phone": "+49 30 1"})  # matched: updated, not inserted
    run = _migration_run(src, dst)
    assert multi.run_migration(run.id) == "succeeded"
    assert len(rows(dst, "Account")) == 2 and len(rows(dst, "Contact")) == 2 and len(rows(dst, "Opportunity")) == 1

    result = _invoke(app, run.id)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # written Account, Opportunity, Contact (parents first, then the plan's order): undone the other way
    assert lines == ["Contact: 2 inserted records deleted, 0 failed",
                     "Opportunity: 1 inserted records deleted, 0 failed",
                     "Account: 1 updated records restored, 0 failed",
                     "Account: 1 inserted records deleted, 0 failed",
                     f"Run {run.id}: rolled_back"]
    assert rows(dst, "Opportunity") == [] and rows(dst, "Contact") == []
    assert [(a["Id"], a["Name"], a["Phone"]) for a in rows(dst, "Account")] == [(existing, "Beta", "+49 30 1")]
    assert db.session.get(Run, run.id).state == "rolled_back"


def test_an_import_run_is_rolled_back_and_a_second_rollback_refused(app, make_org):
    org = make_org("rb-imp")
    acct = account()
    job = csv_job(acct, connect(acct, org), contacts_csv(3), CONTACT_MAPPING, api="rest")
    run = service.create_run(TenantScope(acct.id), job.id).run
    assert execute.run_import(run.id) == "succeeded" and len(rows(org, "Contact")) == 3
    result = _invoke(app, run.id)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Run {run.id}: rolled_back"
    assert rows(org, "Contact") == []
    again = _invoke(app, run.id)
    assert again.exit_code == 1
    assert f"Run {run.id} is rolled_back: only a succeeded or partial import or migration" in again.output


def test_an_unknown_run_is_refused(app):
    result = _invoke(app, "no-such-run")
    assert result.exit_code == 1 and "No run no-such-run." in result.output
