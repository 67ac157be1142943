"""A multi-object job through a real `python -m worker`: started like any run, rolled back like any run."""

from __future__ import annotations

from backend.extensions import db
from backend.models import Job
from backend.models.base import TenantScope
from backend.runs import service
from sfdx.localorg.pytest_plugin import localorg, make_org  # noqa: F401
from tests.e2e.test_crash_recovery import _fresh_run, _start_worker, _stop, _wait, app_config  # noqa: F401
from tests.runs.factories import account, connect


def _records(org, sobject):
    return [dict(r) for r in org.store.table(sobject).rows.values()]


def test_the_worker_runs_and_rolls_back_a_migration_job(app, app_config, make_org, localorg):  # noqa: F811
    src, dst = make_org("w-src"), make_org("w-dst")
    acct = account()
    src_conn, dst_conn = connect(acct, src), connect(acct, dst)
    top = src.store.insert("Account", {"Name": "Top"})
    src.store.insert("Account", {"Name": "Sub", "ParentId": top})
    src.store.insert("Contact", {"LastName": "Lee", "AccountId": top})
    scope = TenantScope(acct.id)
    job = scope.add(Job(name="Copy", kind="migrate", source={"type": "org", "org_connection_id": src_conn.id},
                        org_connection_id=dst_conn.id, object_name="Account, Contact", operation="insert",
                        mapping={"plan": {"steps": [{"object": "Account", "fields": ["Name", "ParentId"]},
                                                    {"object": "Contact", "fields": ["LastName", "AccountId"]}]}}))
    db.session.commit()
    worker = _start_worker(app, app_config, localorg)
    try:
        run = service.start_run(scope, job.id).run
        _wait(lambda: _fresh_run(run.id).finished, "the migration run", worker)
        run = _fresh_run(run.id)
        assert (run.state, run.rows_read, run.rows_succeeded) == ("succeeded", 3, 3)
        accounts = {a["Name"]: a for a in _records(dst, "Account")}
        assert accounts["Sub"]["ParentId"] == accounts["Top"]["Id"]
        assert _records(dst, "Contact")[0]["AccountId"] == accounts["Top"]["Id"]
        service.rollback(scope, run.id)
        _wait(lambda: _fresh_run(run.id).state == "rolled_back", "the rollback", worker)
        assert _records(dst, "Account") == [] and _records(dst, "Contact") == []
    finally:
        _stop(worker)
