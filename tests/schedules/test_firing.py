"""Scheduled occurrences become runs: at most once per occurrence with several schedulers, once after
downtime (late, and saying so), skipped while the previous run still runs; upload jobs cannot be scheduled;
a revoked org pauses the schedule. Runs execute for real against localorg."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue

from backend.errors import ConfigError
from backend.extensions import db
from backend.models import Job, OrgConnection, Run
from backend.models.audit import AuditEvent
from backend.models.base import TenantScope
from backend.runs import execute, notify, schedules, service
from backend.services import get_redis
from tests.runs.factories import CONTACT_MAPPING, FORCE_APP, account, connect, contacts_csv, csv_job

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # a Monday, 02:00 in Berlin


def scheduled_job(org, rule="daily 02:30", tz="Europe/Berlin", since=T0, rows=3):
    """A job with a schedule, as set_schedule leaves it, set at `since`. Its source is an upload made now
    (readable for the hour the test takes); set_schedule itself refuses uploads (tested below)."""
    acct = account()
    conn = connect(acct, org)
    job = csv_job(acct, conn, contacts_csv(rows), CONTACT_MAPPING, api="rest")
    job.schedule, job.schedule_tz, job.schedule_since = rule, tz, since
    db.session.commit()
    return acct, job


def runs_of(job) -> list[Run]:
    db.session.expire_all()
    return TenantScope(job.account_id).all(Run, Run.job_id == job.id)


def test_a_due_occurrence_starts_one_run_that_imports_for_real(app, make_org):
    org = make_org(source_dir=FORCE_APP)
    _acct, job = scheduled_job(org)
    assert schedules.fire_due(T0 + timedelta(minutes=10)) == []  # 02:10 Berlin: not due yet
    [fired] = schedules.fire_due(T0 + timedelta(minutes=30, seconds=20))
    assert fired.outcome == "started"
    [run] = runs_of(job)
    assert (run.trigger, run.scheduled_for, run.state) == ("schedule", T0 + timedelta(minutes=30), "queued")
    assert service.progress(TenantScope(job.account_id), run.id)["late_seconds"] is None
    queued = Queue("imports", connection=get_redis()).jobs
    assert [q.args for q in queued if q.args == (run.id,)] == [(run.id,)]
    assert schedules.fire_due(T0 + timedelta(minutes=31)) == []  # handled: never twice
    assert execute.run_import(run.id) == "succeeded"
    assert len(org.store.table("Contact").rows) == 3


def test_two_schedulers_firing_at_once_start_one_run(app, make_org):
    org = make_org(source_dir=FORCE_APP)
    _acct, job = scheduled_job(org)
    flask_app = app
    barrier = threading.Barrier(2)
    outcomes: list[list] = []

    def scheduler() -> None:
        with flask_app.app_context():
            barrier.wait()
            outcomes.append(schedules.fire_due(T0 + timedelta(minutes=31)))
            db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    started = [f for fired in outcomes for f in fired if f.outcome == "started"]
    assert len(outcomes) == 2 and len(started) == 1
    assert len(runs_of(job)) == 1


def test_after_downtime_the_missed_occurrences_run_once_and_say_they_were_late(app, make_org):
    org = make_org(source_dir=FORCE_APP)
    _acct, job = scheduled_job(org, rule="every 15m")
    # The schedulers were down from 02:00 to 05:07 Berlin: 12 occurrences passed.
    [fired] = schedules.fire_due(T0 + timedelta(hours=3, minutes=7))
    [run] = runs_of(job)
    assert fired.outcome == "started" and run.scheduled_for == T0 + timedelta(hours=3)
    progress = service.progress(TenantScope(job.account_id), run.id)
    assert progress["late_seconds"] == 7 * 60 and "started 7 min late" in progress["schedule_note"]
    assert schedules.fire_due(T0 + timedelta(hours=3, minutes=8)) == []


def test_a_restart_across_a_due_time_gives_one_late_run(app, make_org):
    org = make_org(source_dir=FORCE_APP)
    acct, job = scheduled_job(org)
    scope, job_id = TenantScope(acct.id), job.id
    # Every scheduler stopped before 02:30 and came back at 05:45 (the state lives in the database).
    db.session.remove()
    [fired] = schedules.fire_due(T0 + timedelta(hours=3, minutes=45))
    [run] = scope.all(Run, Run.job_id == job_id)
    progress = service.progress(scope, run.id)
    assert fired.outcome == "started" and progress["late_seconds"] == 3 * 3600 + 15 * 60
    assert "started 3 h 15 min late" in progress["schedule_note"]


def test_an_occurrence_while_the_previous_run_runs_is_recorded_as_skipped(app, make_org):
    org = make_org(source_dir=FORCE_APP)
    _acct, job = scheduled_job(org, rule="every 15m")
    [first] = schedules.fire_due(T0 + timedelta(minutes=15, seconds=5))
    run = db.session.get(Run, first.run_id)
    run.transition("running")  # a worker holds it
    db.session.commit()
    [second] = schedules.fire_due(T0 + timedelta(minutes=30, seconds=5))
    assert second.outcome == "skipped"
    skipped = db.session.get(Run, second.run_id)
    assert skipped.state == "skipped" and skipped.finished and "still running" in skipped.error_summary
    assert {r.state for r in runs_of(job)} == {"running", "skipped"}
    assert len(Queue("imports", connection=get_redis()).jobs) == 1  # nothing queued behind it


def test_upload_jobs_cannot_be_scheduled_and_the_refusal_says_why(app, org):
    acct = account()
    job = csv_job(acct, connect(acct, org), contacts_csv(2), CONTACT_MAPPING)
    with pytest.raises(ConfigError, match="uploads are kept for one hour"):
        schedules.set_schedule(TenantScope(acct.id), job.id, "daily 02:30", "Europe/Berlin")
    assert db.session.get(Job, job.id).schedule is None


def test_pause_resume_remove_are_audited_and_a_paused_schedule_does_not_fire(app, make_org):
    org = make_org(source_dir=FORCE_APP)
    acct, job = scheduled_job(org)
    scope = TenantScope(acct.id)
    schedules.pause(scope, job.id, user_id=None)
    assert schedules.fire_due(T0 + timedelta(hours=1)) == []
    schedules.remove(scope, job.id)
    assert db.session.get(Job, job.id).schedule is None
    actions = [e.action for e in db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.target == job.id)).all()]
    assert actions == ["schedule.pause", "schedule.remove"]


def test_a_revoked_org_pauses_the_schedule_and_the_run_says_why(app, make_org, smtp):
    org = make_org(source_dir=FORCE_APP)
    acct, job = scheduled_job(org)
    job.notify_emails = ["ops@example.com"]
    db.session.commit()
    org_row = db.session.get(OrgConnection, job.org_connection_id)
    org_row.set_secret("access_token", "00Dexpired!token")
    db.session.commit()
    refresh = org_row.get_secret("refresh_token")
    assert org.sessions.revoke(refresh)
    [fired] = schedules.fire_due(T0 + timedelta(minutes=31))
    assert execute.run_import(fired.run_id) == "failed"
    run = db.session.get(Run, fired.run_id)
    assert "reconnect" in run.error_summary.lower()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.schedule_paused and "Reconnect the org" in job.schedule_pause_reason
    assert schedules.fire_due(T0 + timedelta(days=1, minutes=31)) == []
    notify.send_email(run.id)
    [mail] = smtp.wait_for(1)
    assert "Reconnect the org" in mail.get_content() and mail["Subject"] == f"Inflow: {job.name} failed"


def test_a_scheduled_export_is_queued_as_an_export(app, make_org):
    org = make_org(source_dir=FORCE_APP)
    acct = account()
    job = TenantScope(acct.id).add(Job(name="Nightly backup", kind="export", object_name="Contact",
                                       operation="export", org_connection_id=connect(acct, org).id,
                                       source={"soql": "SELECT Id FROM Contact"}, mapping={}))
    db.session.commit()
    schedules.set_schedule(TenantScope(acct.id), job.id, "daily 02:30", "Europe/Berlin")
    occurrence = schedules.upcoming(db.session.get(Job, job.id), 1)[0]
    [fired] = schedules.fire_due(occurrence + timedelta(seconds=5))
    queued = [(q.func_name, q.args) for q in Queue("imports", connection=get_redis()).jobs]
    assert queued == [(service.EXPORT_TASK, (fired.run_id,))]
