"""Scheduled jobs: set, pause, resume, remove a job's schedule, and fire the occurrences that are due.

Triggering is RQ's own cron (worker/cron.py calls `fire_due` at the top of every minute on every worker
machine). Each due occurrence becomes at most one run, however many schedulers fire at once: the run's
idempotency key is the job and the occurrence time, and the database refuses a second one. Missed
occurrences (downtime) collapse into the latest one, which runs once and records that it was late; the
watermark (`Job.schedule_last_at`) lives in the database, so a restart loses nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backend.billing.plans import PlanRefused, require
from backend.errors import ConfigError
from backend.extensions import db
from backend.models.audit import record
from backend.models.base import TenantScope, utcnow
from backend.models.jobs import Job
from backend.models.orgs import OrgConnection
from backend.models.runs import Run
from backend.runs import admission, service
from backend.schedules import rules

log = logging.getLogger(__name__)
LATE_AFTER = timedelta(minutes=2)  # a run started later than this after its occurrence says it was late
UPLOAD_NOT_SCHEDULABLE = ("This job imports an uploaded file, and uploads are kept for one hour, so it cannot "
                          "run on a schedule. Import from a connection (database, SFTP, S3...) to schedule it.")


def schedulable_reason(job: Job) -> str | None:
    """None when the job's source can be read again later; else why it cannot run on a schedule."""
    source = job.source or {}
    if job.kind == "import" and (source.get("blob_id") or not source.get("connection_id")):
        return UPLOAD_NOT_SCHEDULABLE
    return None


def set_schedule(scope: TenantScope, job_id: str, rule_text: str, tz_name: str, *,
                 user_id: str | None = None) -> Job:
    """Give the job a schedule (replacing any); occurrences from now on count."""
    job = scope.get(Job, job_id)
    reason = schedulable_reason(job)
    if reason:
        raise ConfigError(reason)
    rule = rules.parse(rule_text)
    rules.zone(tz_name)
    require(scope.account_id, "schedules")
    job.schedule, job.schedule_tz = rule.text, tz_name
    job.schedule_paused, job.schedule_pause_reason = False, ""
    job.schedule_since, job.schedule_last_at = utcnow(), None
    job.schedule_owner_id = user_id or job.schedule_owner_id
    record("schedule.set", account_id=job.account_id, user_id=user_id, target=job.id,
           rule=rule.text, tz=tz_name)
    db.session.commit()
    return job


def pause(scope: TenantScope, job_id: str, *, user_id: str | None = None, reason: str = "Paused by a user.") -> Job:
    job = _scheduled(scope, job_id)
    job.schedule_paused, job.schedule_pause_reason = True, reason
    record("schedule.pause", account_id=job.account_id, user_id=user_id, target=job.id, by_user=bool(user_id))
    db.session.commit()
    return job


def resume(scope: TenantScope, job_id: str, *, user_id: str | None = None) -> Job:
    """Resume from now: occurrences missed while paused do not run."""
    job = _scheduled(scope, job_id)
    reason = schedulable_reason(job)
    if reason:
        raise ConfigError(reason)
    job.schedule_paused, job.schedule_pause_reason = False, ""
    job.schedule_since = utcnow()
    record("schedule.resume", account_id=job.account_id, user_id=user_id, target=job.id)
    db.session.commit()
    return job


def remove(scope: TenantScope, job_id: str, *, user_id: str | None = None) -> Job:
    job = _scheduled(scope, job_id)
    job.schedule = job.schedule_tz = None
    job.schedule_paused, job.schedule_pause_reason = False, ""
    job.schedule_since = job.schedule_last_at = None
    record("schedule.remove", account_id=job.account_id, user_id=user_id, target=job.id)
    db.session.commit()
    return job


def _scheduled(scope: TenantScope, job_id: str) -> Job:
    job = scope.get(Job, job_id)
    if not job.schedule:
        raise ConfigError(f"Job {job.name!r} has no schedule; set one first.")
    return job


def upcoming(job: Job, n: int = 5, after: datetime | None = None) -> list[datetime]:
    if not job.schedule or not job.schedule_tz:
        return []
    return rules.next_n(rules.parse(job.schedule), job.schedule_tz, after or utcnow(), n)


@dataclass(frozen=True)
class Fired:
    job_id: str
    occurrence: datetime
    run_id: str | None
    outcome: str  # started | skipped | duplicate


def fire_due(now: datetime | None = None) -> list[Fired]:
    """Start one run for each job whose latest due occurrence has not been handled yet."""
    now = now or utcnow()
    job_ids = db.session.scalars(select(Job.id).where(
        Job.schedule.is_not(None), Job.schedule_paused.is_(False), Job.active.is_(True))).all()
    fired = []
    for job_id in job_ids:
        try:
            outcome = _fire_job(job_id, now)
        except Exception:  # one broken job must not stop the others' schedules
            db.session.rollback()
            log.exception("schedule of job %s could not fire", job_id)
            continue
        if outcome:
            fired.append(outcome)
    return fired


def _fire_job(job_id: str, now: datetime) -> Fired | None:
    job = db.session.get(Job, job_id)
    db.session.refresh(job)
    since = max(d for d in (job.schedule_since, job.schedule_last_at) if d is not None)
    occurrence = rules.latest_due(rules.parse(job.schedule), job.schedule_tz, since, now)
    if occurrence is None:
        db.session.rollback()
        return None
    scope = TenantScope(job.account_id)
    key = f"schedule:{job.id}:{occurrence.strftime('%Y%m%dT%H%M%SZ')}"
    # Move the watermark only forward: of two schedulers the second finds it done (or the key taken).
    moved = db.session.execute(update(Job).where(
        Job.id == job.id, (Job.schedule_last_at.is_(None)) | (Job.schedule_last_at < occurrence))
        .values(schedule_last_at=occurrence)).rowcount
    if not moved:
        db.session.rollback()
        return None
    org = db.session.get(OrgConnection, job.org_connection_id) if job.org_connection_id else None
    if org is not None and org.status != "connected":
        db.session.commit()
        paused = pause(scope, job.id, reason=f"Paused: the org {org.name or org.instance_url} must be reconnected "
                                              "before the schedule can run.")
        log.warning("schedule of job %s paused: %s", job.id, paused.schedule_pause_reason)
        return Fired(job.id, occurrence, None, "paused")
    if scope.all(Run, Run.active_job_id == job.id):
        run = Run(job_id=job.id, state="skipped", trigger="schedule", scheduled_for=occurrence,
                  idempotency_key=key, checkpoint={}, finished_at=now,
                  error_summary="Skipped: the previous run of this job was still running.")
        try:
            scope.add(run)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return Fired(job.id, occurrence, None, "duplicate")
        return Fired(job.id, occurrence, run.id, "skipped")
    try:
        admission.admit(scope, job, scheduled=True)
    except PlanRefused as refused:  # a Free plan (or no rows left): the schedule waits, it is not deleted
        db.session.commit()
        pause(scope, job.id, reason=f"Paused: {refused.message}")
        return Fired(job.id, occurrence, None, "paused")
    started = service.create_run(scope, job.id, idempotency_key=key)
    if not started.created:
        return Fired(job.id, occurrence, started.run.id, "duplicate")
    run = started.run
    run.trigger, run.scheduled_for = "schedule", occurrence
    if now - occurrence > LATE_AFTER:
        run.late_seconds = int((now - occurrence).total_seconds())
    db.session.commit()
    service.enqueue(run.id, task=service.task_for(job))
    return Fired(job.id, occurrence, run.id, "started")

