"""Notifications of a finished run: an e-mail received by a real SMTP server with counts, Salesforce's error
messages and a link, never row data; the bell in Lightning as a custom notification recorded by localorg;
policies, digests, and a mail server that is down never touching the run."""

from __future__ import annotations

from datetime import timedelta

from rq import Queue

from backend.extensions import db
from backend.models import Run
from backend.models.base import TenantScope, utcnow
from backend.runs import execute, notify, service
from backend.services import get_redis
from tests.runs.factories import CONTACT_MAPPING, FORCE_APP, account, connect, contacts_csv, csv_job


def finished_run(org, data: bytes, **job_fields):
    acct = account()
    job = csv_job(acct, connect(acct, org), data, CONTACT_MAPPING, api="rest", name="Nightly contacts")
    for key, value in job_fields.items():
        setattr(job, key, value)
    db.session.commit()
    run = service.create_run(TenantScope(acct.id), job.id).run
    execute.run_import(run.id)
    return db.session.get(Run, run.id)


def queued_tasks() -> list[tuple[str, tuple]]:
    return [(j.func_name, j.args) for j in Queue("maintenance", connection=get_redis()).jobs]


def test_a_failed_row_mails_counts_and_salesforces_message_but_no_row_data(app, make_org, smtp):
    org = make_org(source_dir=FORCE_APP)
    data = contacts_csv(5).replace(b"Ann3,Lee3,", b"Ann3,,")  # LastName missing: Salesforce refuses the row
    run = finished_run(org, data, notify_emails=["ops@example.com", "cto@example.com"])
    assert run.state == "partial"
    assert queued_tasks() == [(notify.EMAIL_TASK, (run.id,)), (notify.SALESFORCE_TASK, (run.id,))]
    assert notify.send_email(run.id) == 2
    [mail] = smtp.wait_for(1)
    body = mail.get_content()
    assert mail["Subject"] == "Inflow: Nightly contacts finished with errors"
    assert mail["To"] == "ops@example.com, cto@example.com"
    assert "Succeeded: 4" in body and "Failed: 1" in body and "Rows read: 5" in body
    assert "1 x Last Name is required" in body
    assert f"https://inflow.example/ui/runs/{run.id}" in body
    for value in ("ann", "Ann", "Lee", "example.com\n"):  # no value of any row, not even the failed one
        assert value not in body.replace("ops@example.com", "").replace("cto@example.com", "")


def test_the_owner_sees_a_failed_run_in_the_salesforce_bell(app, make_org):
    org = make_org(source_dir=FORCE_APP)
    run = finished_run(org, contacts_csv(3).replace(b"Ann1,Lee1,", b"Ann1,,"))
    assert notify.send_salesforce(run.id) == 1
    [sent] = org.extra["custom_notifications"]
    [type_id] = [rid for rid, row in org.store.table("CustomNotificationType").rows.items()
                 if row["DeveloperName"] == "Inflow_Run_Outcome"]
    assert sent["customNotifTypeId"] == type_id and sent["recipientIds"] == [org.admin_id]
    assert sent["title"] == "Inflow: Nightly contacts finished with errors"
    assert sent["body"] == "2 succeeded, 1 failed of 3 rows." and "Inflow" in sent["targetPageRef"]


def test_by_default_a_successful_run_notifies_nobody_and_on_success_it_does(app, make_org, smtp):
    org = make_org(source_dir=FORCE_APP)
    finished_run(org, contacts_csv(2), notify_emails=["ops@example.com"])
    assert queued_tasks() == []
    run = finished_run(org, contacts_csv(2, start=10), notify_emails=["ops@example.com"], notify_on="success")
    assert run.state == "succeeded" and len(queued_tasks()) == 2
    notify.send_email(run.id)
    assert smtp.wait_for(1)[0]["Subject"] == "Inflow: Nightly contacts succeeded"


def test_a_digest_job_gets_one_mail_a_day_listing_its_runs(app, make_org, smtp):
    org = make_org(source_dir=FORCE_APP)
    first = finished_run(org, contacts_csv(2).replace(b"Ann0,Lee0,", b"Ann0,,"), notify_emails=["ops@example.com"],
                         notify_digest=True)
    assert queued_tasks() == []  # no mail per run
    assert notify.send_digests(utcnow() + timedelta(minutes=1)) == 1
    [mail] = smtp.wait_for(1)
    assert mail["Subject"] == "Inflow daily digest: Nightly contacts (1 runs)"
    assert "finished with errors" in mail.get_content() and "1 succeeded, 1 failed" in mail.get_content()
    assert notify.send_digests(utcnow() + timedelta(hours=2)) == 0  # not again the same day
    assert first.state == "partial"
