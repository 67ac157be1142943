"""Usage counted when a run finishes (against localorg, as a worker runs it), once per run even across a rollback;
a run that would go over the plan's rows refused at enqueue with the rows left and how to upgrade; schedules and
connectors only on paid plans; the CLI prints plans and usage."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.billing.plans import PlanRefused, plan_for
from backend.billing.usage import QuotaExceeded, usage_for
from backend.extensions import db
from backend.models import BillingAccount, Job, Run, UsageRecord
from backend.models.base import TenantScope
from backend.runs import execute, service
from backend.runs import rollback as run_rollback
from tests.runs.factories import CONTACT_MAPPING, FORCE_APP, account, connect, contacts_csv, csv_job
from tests.stripe_fake import PRICES


def _used_before(acct, rows: int) -> None:
    """Rows earlier runs of this period processed (their runs are not part of the test)."""
    db.session.add(UsageRecord(account_id=acct.id, run_id="e" * 32, rows=rows))
    db.session.commit()


def _paid(acct, plan: str = "team") -> None:
    db.session.add(BillingAccount(account_id=acct.id, stripe_customer_id=f"cus_{acct.id[:8]}", plan=plan,
                                  stripe_subscription_id="sub_x", subscription_status="active"))
    db.session.commit()


def test_a_finished_run_counts_succeeded_and_failed_rows_once_and_a_rollback_adds_nothing(app, make_org):
    org = make_org(source_dir=FORCE_APP)
    acct = account()
    data = contacts_csv(30).replace(b"Ann7,Lee7,", b"Ann7,,")  # one row fails: LastName is required
    job = csv_job(acct, connect(acct, org), data, CONTACT_MAPPING, api="rest")
    run = service.start_run(TenantScope(acct.id), job.id).run
    assert execute.run_import(run.id) == "partial"
    assert usage_for(acct.id).used == 30  # 29 succeeded + 1 failed

    service.rollback(TenantScope(acct.id), run.id)
    assert run_rollback.rollback_run(run.id) == "rolled_back"
    assert execute.run_import(run.id) == "rolled_back"  # a stray second task finds it finished: nothing counted
    assert usage_for(acct.id).used == 30
    assert db.session.scalar(select(func.count()).select_from(UsageRecord)) == 1


def test_a_run_over_the_quota_is_refused_at_enqueue_with_rows_left_and_how_to_upgrade(app, make_org):
    org = make_org(source_dir=FORCE_APP)
    acct = account()
    conn = connect(acct, org)
    _used_before(acct, 9_990)
    big = csv_job(acct, conn, contacts_csv(30), CONTACT_MAPPING, name="Big")
    with pytest.raises(QuotaExceeded) as refused:
        service.start_run(TenantScope(acct.id), big.id)
    message = refused.value.message
    assert "30 rows" in message and "10 of its 10,000 rows left" in message and "/billing" in message
    assert refused.value.rows_left == 10
    assert db.session.scalar(select(func.count()).select_from(Run)) == 0  # nothing created, nothing queued

    small = csv_job(acct, conn, contacts_csv(10, start=100), CONTACT_MAPPING, name="Small")
    run = service.start_run(TenantScope(acct.id), small.id).run
    assert execute.run_import(run.id) == "succeeded"
    assert usage_for(acct.id).left == 0
    with pytest.raises(QuotaExceeded):
        service.start_run(TenantScope(acct.id), small.id)

    _paid(acct)  # Team: 250,000 rows a month
    assert service.start_run(TenantScope(acct.id), big.id).created


def test_the_runs_api_answers_402_with_the_message(app, make_org, client):
    org = make_org(source_dir=FORCE_APP)
    acct = account()
    job = csv_job(acct, connect(acct, org), contacts_csv(30), CONTACT_MAPPING)
    _used_before(acct, 10_000)
    headers = {"Authorization": f"Bearer {_app_token(acct)}"}
    response = client.post(f"/api/jobs/{job.id}/runs", headers=headers)
    assert response.status_code == 402
    body = response.get_json()
    assert body["error"] == "quota_exceeded" and body["rows_left"] == 0 and body["upgrade_url"] == "/billing"
    assert "0 of its 10,000 rows left" in body["message"]


def _app_token(acct) -> str:
    from backend.models import OrgConnection, User
    from backend.security.tokens import issue_app_token
    from backend.services import get_keyring

    org = db.session.scalars(select(OrgConnection).where(OrgConnection.account_id == acct.id)).one()
    user = User(account_id=acct.id, email="runner@example.com", role="admin", salesforce_user_id=org.connected_by)
    db.session.add(user)
    db.session.commit()
    token, _ = issue_app_token(get_keyring(), account_id=acct.id, user_id=user.id, org_connection_id=org.id,
                               region=acct.region, ttl_seconds=600)
    return token


def test_schedules_and_connectors_need_a_paid_plan_and_free_schedules_are_kept(app, make_org):
    org = make_org(source_dir=FORCE_APP)
    acct = account()
    conn = connect(acct, org)
    job = csv_job(acct, conn, contacts_csv(5), CONTACT_MAPPING)
    job.schedule = "0 6 * * 1"
    db.session.commit()
    assert plan_for(acct).name == "free"
    with pytest.raises(PlanRefused, match="Scheduled runs are not part of the Free plan; they come with Team, "
                                          "Business"):
        service.start_run(TenantScope(acct.id), job.id, scheduled=True)
    with_connection = TenantScope(acct.id).add(Job(name="From Postgres", object_name="Contact", operation="insert",
                                                   source={"type": "postgresql", "connection_id": "c" * 32}))
    db.session.commit()
    with pytest.raises(PlanRefused, match="Connectors"):
        service.start_run(TenantScope(acct.id), with_connection.id)
    assert service.start_run(TenantScope(acct.id), job.id).created  # a manual run of the same job is fine
    assert db.session.get(Job, job.id).schedule == "0 6 * * 1"

    _paid(acct, "business")
    assert plan_for(acct).name == "business"
    assert service.start_run(TenantScope(acct.id), job.id, scheduled=True).created is False  # its run is active


def test_cli_prints_plans_and_an_accounts_usage(app):
    acct = account(company="Acme Widgets")
    _used_before(acct, 1_234)
    runner = app.test_cli_runner()
    plans = runner.invoke(args=["billing", "plans"])
    assert plans.exit_code == 0
    lines = plans.output.splitlines()
    assert lines[1].split() == ["free", "10,000", "no", "no", "-"]
    assert lines[2].split() == ["team", "250,000", "yes", "yes", PRICES["team"]]
    for who in (acct.id, "Acme Widgets"):
        usage = runner.invoke(args=["billing", "usage", who])
        assert usage.exit_code == 0, usage.output
        assert "plan      free" in usage.output and "used      1,234 of 10,000 rows (8,766 left)" in usage.output
    missing = runner.invoke(args=["billing", "usage", "Nobody"])
    assert missing.exit_code != 0 and "no account 'Nobody'" in missing.output
