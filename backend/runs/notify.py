"""Notifications when a run ends: e-mail over SMTP and a Salesforce custom notification (the bell).

A finished run enqueues one task per channel on the maintenance queue, each retried by RQ a few times and
then only logged: a notification never changes the run. Messages carry counts, times and Salesforce's
error messages, never row data or field values (the error file holds those, behind a login).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from rq import Queue, Retry

from backend.errors import InflowError
from backend.extensions import db
from backend.mail import MailError, send
from backend.models.accounts import User
from backend.models.base import TenantScope, utcnow
from backend.models.jobs import Job
from backend.models.orgs import OrgConnection
from backend.models.runs import Run
from backend.runs import schedules
from backend.runs.error_groups import error_groups
from backend.runs.service import schedule_note
from backend.salesforce.client import soql_quote
from backend.services import get_keyring, get_redis, get_settings

log = logging.getLogger(__name__)
EMAIL_TASK = "worker.tasks.notify_run_email"
SALESFORCE_TASK = "worker.tasks.notify_run_salesforce"
RETRY = Retry(max=3, interval=[10, 60, 300])
NOTIFICATION_TYPE = "Inflow_Run_Outcome"
FAILURES = frozenset({"failed", "partial"})
POLICIES = {"failure": FAILURES, "success": frozenset({"succeeded"}),
            "always": frozenset({"failed", "partial", "succeeded", "cancelled", "skipped"}), "never": frozenset()}
OUTCOMES = {"succeeded": "succeeded", "partial": "finished with errors", "failed": "failed",
            "cancelled": "was cancelled", "skipped": "was skipped", "rolled_back": "was rolled back"}
FIRST_ERRORS = 5


def run_finished(run_id: str) -> None:
    """Called once a run reaches a final state: pause a schedule whose org needs reconnecting, and enqueue
    the notifications the job asks for. Never raises: the run is already decided."""
    try:
        _run_finished(run_id)
    except Exception:
        db.session.rollback()
        log.exception("notifications for run %s could not be queued", run_id)


def _run_finished(run_id: str) -> None:
    run = db.session.get(Run, run_id)
    job = db.session.get(Job, run.job_id) if run else None
    if run is None or job is None or not run.finished:
        return
    paused = _pause_if_org_lost(run, job)
    if job.notify_digest and not paused:
        return  # the daily digest reports it
    if paused or run.state in POLICIES.get(job.notify_on, FAILURES):
        queue = Queue("maintenance", connection=get_redis())
        for task in (EMAIL_TASK, SALESFORCE_TASK):
            queue.enqueue(task, run.id, retry=RETRY, job_timeout=120, description=f"{task} {run.id}")


def _pause_if_org_lost(run: Run, job: Job) -> bool:
    """A scheduled run whose org refused the stored refresh token pauses its schedule (3 a.m. has no user
    to reconnect): the run says why, and the owner hears of it whatever the job's notification setting."""
    if run.trigger != "schedule" or not job.schedule or job.schedule_paused or not job.org_connection_id:
        return False
    org = db.session.get(OrgConnection, job.org_connection_id)
    if org is None or org.status == "connected":
        return False
    schedules.pause(TenantScope(job.account_id), job.id, reason=(
        f"Paused: Salesforce refused Inflow's stored access to {org.name or org.instance_url}. "
        "Reconnect the org, then resume the schedule."))
    return True


def recipients(job: Job, org: OrgConnection | None, client: Any | None) -> list[str]:
    """The job's extra e-mail addresses and its Salesforce users' e-mail addresses (asked of the org)."""
    addresses = [a.strip() for a in (job.notify_emails or []) if a and a.strip()]
    owner = _owner(job)
    if owner is not None and owner.email:
        addresses.append(owner.email)
    user_ids = [u for u in (job.notify_user_ids or []) if u]
    if user_ids and client is not None:
        soql = "SELECT Email FROM User WHERE Id IN (" + ",".join(soql_quote(u) for u in user_ids) + ")"
        addresses += [row["Email"] for row in client.query_all(soql) if row.get("Email")]
    return list(dict.fromkeys(addresses))


def _owner(job: Job) -> User | None:
    if not job.schedule_owner_id:
        return None
    users = TenantScope(job.account_id).all(User, User.id == job.schedule_owner_id)
    return users[0] if users else None


def message(run: Run, job: Job, errors: list[dict[str, Any]]) -> tuple[str, str]:
    """(subject, body) of a run's e-mail: counts, duration, the first error messages, a link to the run."""
    outcome = OUTCOMES.get(run.state, run.state)
    subject = f"Inflow: {job.name} {outcome}"
    lines = [f"The {job.operation} of {job.object_name} by the job \"{job.name}\" {outcome}.", ""]
    if run.scheduled_for:
        lines.append(schedule_note(run))
    if run.started_at:
        lines.append(f"Started: {run.started_at.isoformat()}")
    if run.started_at and run.finished_at:
        lines.append(f"Duration: {_duration(run.finished_at - run.started_at)}")
    lines += [f"Rows read: {run.rows_read}", f"Succeeded: {run.rows_succeeded}", f"Failed: {run.rows_failed}"]
    if job.schedule_paused and job.schedule_pause_reason:
        lines += ["", job.schedule_pause_reason]
    if run.error_summary:
        lines += ["", run.error_summary]
    if errors:
        lines += ["", "First errors (Salesforce's messages, by number of rows):"]
        lines += [f"  {g['count']} x {g['message']}" for g in errors[:FIRST_ERRORS]]
    lines += ["", f"See the run: {get_settings().public_url.rstrip('/')}/ui/runs/{run.id}"]
    return subject, "\n".join(lines) + "\n"


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def send_email(run_id: str) -> int:
    """The notify_run_email task's body: send the run's e-mail; raises MailError so RQ retries."""
    run, job, org = _load(run_id)
    client = _client(org)
    to = recipients(job, org, client)
    if not to:
        return 0
    subject, body = message(run, job, _errors(run))
    send(get_settings(), to, subject, body)
    return len(to)


def send_salesforce(run_id: str) -> int:
    """The notify_run_salesforce task's body: the bell in Lightning for the job's owner and users."""
    run, job, org = _load(run_id)
    client = _client(org)
    if client is None:
        return 0
    owner = _owner(job)
    targets = [owner.salesforce_user_id if owner and owner.salesforce_user_id else org.connected_by]
    targets = list(dict.fromkeys(t for t in targets + list(job.notify_user_ids or []) if t))
    if not targets:
        return 0
    types = client.query_all(f"SELECT Id FROM CustomNotificationType WHERE DeveloperName = "
                             f"{soql_quote(NOTIFICATION_TYPE)}")
    if not types:
        log.warning("run %s: the org has no %s notification type (package not installed?)", run.id, NOTIFICATION_TYPE)
        return 0
    subject, _body = message(run, job, [])
    body = (f"{run.rows_succeeded} succeeded, {run.rows_failed} failed of {run.rows_read} rows."
            + (f" {job.schedule_pause_reason}" if job.schedule_paused else ""))
    page = {"type": "standard__navItemPage", "attributes": {"apiName": _tab(org)}}
    inputs = [{"customNotifTypeId": types[0]["Id"], "recipientIds": targets, "title": subject[:250],
               "body": body[:750], "targetPageRef": json.dumps(page)}]
    results = client.json("POST", "actions/standard/customNotificationAction", json={"inputs": inputs})
    failed = [r for r in results if not r.get("isSuccess")]
    if failed:
        raise InflowError(f"Salesforce refused the notification: {failed[0].get('errors')}")
    return len(targets)


def _tab(org: OrgConnection) -> str:
    return f"{org.namespace_prefix}__Inflow" if org.namespace_prefix else "Inflow"


def _load(run_id: str) -> tuple[Run, Job, OrgConnection | None]:
    run = db.session.get(Run, run_id)
    if run is None:
        raise InflowError(f"run {run_id} no longer exists")
    job = db.session.get(Job, run.job_id)
    org = db.session.get(OrgConnection, job.org_connection_id) if job.org_connection_id else None
    return run, job, org


def _client(org: OrgConnection | None) -> Any | None:
    if org is None or org.status != "connected":
        return None
    from backend.salesforce.session import client_for

    return client_for(org, get_keyring(), get_settings())


def _errors(run: Run) -> list[dict[str, Any]]:
    try:
        return error_groups(TenantScope(run.account_id), run.id)
    except InflowError:
        return []


def send_digests(now: datetime | None = None) -> int:
    """One e-mail per digest job and day: the runs that finished since the last digest, in a table."""
    now = now or utcnow()
    sent = 0
    jobs = db.session.scalars(db.select(Job).where(Job.notify_digest.is_(True))).all()
    for job in jobs:
        if job.digest_sent_at and now - job.digest_sent_at < timedelta(days=1):
            continue
        since = job.digest_sent_at or (now - timedelta(days=1))
        runs = TenantScope(job.account_id).all(Run, Run.job_id == job.id, Run.finished_at > since,
                                               Run.finished_at <= now)
        wanted = [r for r in runs if r.state in POLICIES.get(job.notify_on, FAILURES)]
        job.digest_sent_at = now
        db.session.commit()
        if not wanted:
            continue
        org = db.session.get(OrgConnection, job.org_connection_id) if job.org_connection_id else None
        to = recipients(job, org, _client(org))
        if not to:
            continue
        lines = [f"Runs of the job \"{job.name}\" since {since.isoformat()}:", ""]
        lines += [f"  {r.finished_at.isoformat()}  {OUTCOMES.get(r.state, r.state):<22} "
                  f"{r.rows_succeeded} succeeded, {r.rows_failed} failed" for r in sorted(wanted, key=_finished)]
        lines += ["", f"See the runs: {get_settings().public_url.rstrip('/')}/ui/runs?job={job.id}"]
        try:
            send(get_settings(), to, f"Inflow daily digest: {job.name} ({len(wanted)} runs)", "\n".join(lines) + "\n")
            sent += 1
        except MailError:
            log.warning("digest of job %s could not be sent", job.id)
    return sent


def _finished(run: Run) -> datetime:
    return run.finished_at or run.created_at
