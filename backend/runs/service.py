"""What the web app does with runs: create, enqueue, cancel, progress, result downloads, rollback.

Every function taking a `scope` reaches the run through the account (another tenant's id is
NotFound). The worker side (executing a run) is `backend.runs.execute`; the RQ tasks in
`worker/tasks.py` only call into it with a run id.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.models.base import NotFound, TenantScope, utcnow
from backend.models.jobs import Job
from backend.models.pieces import RunPiece
from backend.models.runs import InvalidTransition, Run
from backend.models.storage import Blob
from backend.runs import admission
from backend.runs import lease as leases
from backend.runs import progress as live
from backend.runs.pieces import SKIP_EXISTING
from backend.services import get_blob_store, get_redis
from backend.storage.blobs import BlobReader

IMPORT_TASK = "worker.tasks.run_import"
ROLLBACK_TASK = "worker.tasks.rollback_run"
EXPORT_TASK = "worker.tasks.run_export"
JOB_TIMEOUT = 24 * 3600  # RQ's default of 180 s would kill a large import
PENDING = ("queued", "scheduled", "deferred")
RESULT_KINDS = ("success", "error", "rollback")
LOST_QUEUED_AFTER = timedelta(minutes=5)


class Started(NamedTuple):
    run: Run
    created: bool  # False: the job's active run (or the run of the same idempotency key) came back


def create_run(scope: TenantScope, job_id: str, *, initiated_by: str | None = None,
               idempotency_key: str | None = None, skip_existing: str | None = None) -> Started:
    """A queued run of the account's job (not yet enqueued), committed; or the run already there.

    One active run per job is the database's rule (the unique `active_job_id`), not a check-then-insert:
    of two concurrent starts one insert fails, and that caller gets the other's run.
    """
    job = scope.get(Job, job_id)
    existing = _existing_run(scope, job.id, idempotency_key)
    if existing is not None:
        return Started(existing, False)
    checkpoint = {SKIP_EXISTING: skip_existing} if skip_existing else {}
    run = Run(job_id=job.id, state="queued", active_job_id=job.id, initiated_by=initiated_by, checkpoint=checkpoint,
              idempotency_key=idempotency_key)
    try:
        scope.add(run)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = _existing_run(scope, job.id, idempotency_key)
        if existing is None:
            raise
        return Started(existing, False)
    return Started(run, True)


def _existing_run(scope: TenantScope, job_id: str, idempotency_key: str | None) -> Run | None:
    if idempotency_key:
        found = scope.all(Run, Run.idempotency_key == idempotency_key)
        if found:
            return found[0]
    active = scope.all(Run, Run.active_job_id == job_id)
    return active[0] if active else None


def start_run(scope: TenantScope, job_id: str, *, initiated_by: str | None = None,
              idempotency_key: str | None = None, scheduled: bool = False,
              skip_existing: str | None = None) -> Started:
    """Create a run and put it on the imports queue (what the UI's Run button does); a second start while
    the job's run is queued or running returns that run.

    A new run must fit the account's plan (`runs.admission.admit`): raises billing.plans.PlanRefused, with
    the rows left and how to upgrade, before anything is created. `scheduled`: started by a schedule.
    `skip_existing`: an insert leaves out rows matching an existing record on this field.
    """
    job = scope.get(Job, job_id)
    if _existing_run(scope, job.id, idempotency_key) is None:
        admission.admit(scope, job, scheduled=scheduled)
    started = create_run(scope, job_id, initiated_by=initiated_by, idempotency_key=idempotency_key,
                         skip_existing=skip_existing)
    if started.created:
        enqueue(started.run.id, task=task_for(scope.get(Job, job_id)))
    return started


def task_for(job: Job) -> str:
    """The RQ task that executes a run of this job: exports read Salesforce, imports write it."""
    return EXPORT_TASK if job.kind == "export" else IMPORT_TASK


def enqueue(run_id: str, *, task: str = IMPORT_TASK, at: datetime | None = None,
            conn: redis.Redis | None = None) -> bool:
    """Put the run's task on the imports queue, unless it is already queued, scheduled or running.

    Returns False when nothing was enqueued. A worker holding the run's SQL lease means running; an RQ
    job that is pending means queued. An RQ job left "started" by a killed worker whose lease expired
    counts as dead, so a recovery enqueue goes through. Enqueueing twice is harmless all the same: only
    one worker can take the lease.
    """
    conn = conn or get_redis()
    if _leased(run_id) or _pending_job(conn, run_id):
        return False
    queue = Queue("imports", connection=conn)
    job_id = f"run-{run_id}-{secrets.token_hex(4)}"
    options: dict[str, Any] = {"job_id": job_id, "job_timeout": JOB_TIMEOUT, "description": f"{task} {run_id}"}
    conn.set(live.job_key(run_id), job_id)
    if at is None:
        queue.enqueue(task, run_id, **options)
    else:
        queue.enqueue_at(at, task, run_id, **options)
    return True


def _leased(run_id: str) -> bool:
    with db.engine.connect() as c:  # a fresh read: the caller's session may hold an older view
        row = c.execute(select(Run.lease_owner, Run.lease_expires_at).where(Run.id == run_id)).first()
    return row is not None and leases.is_held(row)


def _pending_job(conn: redis.Redis, run_id: str) -> bool:
    job_id = conn.get(live.job_key(run_id))
    if not job_id:
        return False
    try:
        status = RQJob.fetch(job_id.decode(), connection=conn).get_status(refresh=True)
    except NoSuchJobError:
        return False
    return status is not None and str(getattr(status, "value", status)) in PENDING


def cancel(scope: TenantScope, run_id: str) -> Run:
    """Ask a run to stop. A queued run is cancelled at once; a running one stops between chunks."""
    run = scope.get(Run, run_id)
    db.session.refresh(run, with_for_update=True)
    if run.state not in ("queued", "running"):
        db.session.rollback()
        return run
    conn = get_redis()
    conn.set(live.cancel_key(run.id), "1", ex=live.PROGRESS_TTL_SECONDS)
    idle = not leases.is_held(run)
    was_queued = run.state == "queued" and idle
    run.transition("cancelling")
    if was_queued:
        run.transition("cancelled")
    db.session.commit()
    live.publish(conn, run.id, state=run.state)
    if idle and run.state == "cancelling":
        # Paused (API limit, retry backoff): finish it now, with the result files of what was written.
        _drop_pending_job(conn, run.id)
        enqueue(run.id, task=task_for(scope.get(Job, run.job_id)), conn=conn)
    return run


def _drop_pending_job(conn: redis.Redis, run_id: str) -> None:
    job_id = conn.get(live.job_key(run_id))
    if job_id:
        try:
            RQJob.fetch(job_id.decode(), connection=conn).delete()
        except NoSuchJobError:
            pass


def progress(scope: TenantScope, run_id: str) -> dict[str, Any]:
    """The UI's view of a run: state, phase, counts, time left, result file ids; live while running.

    Keys: id, state, phase, rows_read, succeeded, failed, created / updated (of the succeeded rows, once
    finished, else None), skipped (rows left out by the filter or as existing records, once finished),
    total_rows (None when unknown),
    seconds_left (None when unknown), paused_until (ISO time while waiting for the org's API
    allowance or a retry, else None), pause_reason (why it waits: the org's API allowance, or the retried
    error and its attempt number; "" when not waiting), rolled_back / rollback_failed (records, while and after a
    rollback), steps (a migration's counts per object: object, read, inserted, updated, failed, unmatched,
    second_pass, ...; [] otherwise), rollback_steps ([object, pass, undone, failed] in the order undone), api,
    error, started_at, finished_at, success_file, error_file, rollback_file (blob ids or None), finished (bool).
    """
    return progress_of(scope.get(Run, run_id, fresh=True))


def progress_of(run: Run) -> dict[str, Any]:
    """progress() of a run already loaded (fresh) through its tenant scope."""
    hot = live.read(get_redis(), run.id) if run.state in ("running", "cancelling", "rolling_back", "rolled_back") \
        else {}

    def num(key: str, fallback: int | None) -> int | None:
        value = hot.get(key)
        return int(value) if value not in (None, "") else fallback

    return {
        "id": run.id, "state": run.state, "phase": hot.get("phase") or run.phase,
        "rows_read": max(num("rows_read", 0) or 0, run.rows_read),
        "succeeded": max(num("succeeded", 0) or 0, run.rows_succeeded),
        "failed": max(num("failed", 0) or 0, run.rows_failed),
        "created": run.rows_created if run.finished else None,
        "updated": run.rows_succeeded - run.rows_created if run.finished else None,
        "skipped": max(0, run.rows_read - run.rows_succeeded - run.rows_failed) if run.finished else None,
        "total_rows": num("total_rows", None), "seconds_left": num("seconds_left", None),
        "paused_until": hot.get("paused_until") or None,
        "pause_reason": ((run.checkpoint or {}).get("runs:pause_reason") or hot.get("pause_reason") or "")
        if run.state == "running" else "",
        "rolled_back": num("rolled_back", None), "rollback_failed": num("rollback_failed", None),
        "api": run.api or hot.get("api", ""), "error": run.error_summary,
        "started_at": _iso(run.started_at), "finished_at": _iso(run.finished_at),
        "success_file": run.success_blob_id, "error_file": run.error_blob_id,
        "rollback_file": run.rollback_blob_id, "finished": run.finished,
        "trigger": run.trigger, "scheduled_for": _iso(run.scheduled_for), "late_seconds": run.late_seconds,
        "schedule_note": schedule_note(run),
        "steps": _steps(run, hot), "rollback_steps": (run.checkpoint or {}).get("migrate:rollback") or [],
    }


def _steps(run: Run, hot: dict[str, Any]) -> list[dict[str, Any]]:
    """A migration run's counts per object (runs/multi.py): live while it runs, from its journal after."""
    if hot.get("steps"):
        return json.loads(hot["steps"])
    return (run.checkpoint or {}).get("migrate:steps") or []


def schedule_note(run: Run) -> str:
    """What a scheduled run says about its timing ("" for a manual run)."""
    if run.trigger != "schedule" or run.scheduled_for is None:
        return ""
    note = f"Scheduled for {run.scheduled_for.isoformat()}"
    if run.late_seconds:
        hours, minutes = divmod(run.late_seconds // 60, 60)
        late = f"{hours} h {minutes} min" if hours else f"{minutes} min"
        note += f"; started {late} late because no scheduler was running then (missed runs run once)"
    return note + "."


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def result_file(scope: TenantScope, run_id: str, kind: str) -> tuple[Blob, BlobReader]:
    """(blob, decrypting stream) of a run's success, error or rollback result file; NotFound if none/expired."""
    if kind not in RESULT_KINDS:
        raise NotFound(f"no {kind} file")
    run = scope.get(Run, run_id)
    blob_id = {"success": run.success_blob_id, "error": run.error_blob_id,
               "rollback": run.rollback_blob_id}[kind]
    if not blob_id:
        raise NotFound(f"run {run_id} has no {kind} file")
    store = get_blob_store()
    blob = store.get_blob(scope.account_id, blob_id)
    return blob, store.open(scope.account_id, blob_id)


def rollback(scope: TenantScope, run_id: str, *, queue: bool = True) -> Run:
    """Start rolling a finished run back (succeeded or partial); the worker does the work (or, with
    queue=False, the caller: `inflow rollback` runs it in its own process)."""
    run = scope.get(Run, run_id)
    db.session.refresh(run, with_for_update=True)
    if scope.get(Job, run.job_id).kind == "export":  # an export wrote nothing to Salesforce to undo
        db.session.rollback()
        raise InvalidTransition(f"run {run.id} is an export; there is nothing to roll back")
    run.transition("rolling_back")  # InvalidTransition for any other state
    db.session.commit()
    if queue:
        enqueue(run.id, task=ROLLBACK_TASK)
    return run


def recover_stale_runs(conn: redis.Redis | None = None) -> list[str]:
    """Re-enqueue runs that a worker was executing when it died (state active, lease expired or released),
    and queued runs whose RQ job was lost.

    Called by the maintenance cron in the worker process; safe to call at any time, from anywhere. A
    lost Redis key never makes a run look dead: only the SQL lease's expiry does.
    """
    conn = conn or get_redis()
    now = utcnow()
    lost_before = now - LOST_QUEUED_AFTER  # a queued run whose RQ job vanished (e.g. Redis restarted)
    unleased = or_(Run.lease_owner.is_(None), Run.lease_expires_at.is_(None), Run.lease_expires_at < now)
    # A run moved in pieces (backend/runs/split.py) has no lease of its own while its pieces are in flight.
    pieces_live = exists(select(RunPiece.id).where(RunPiece.run_id == Run.id, RunPiece.state == "taken",
                                                   RunPiece.lease_expires_at >= now))
    stale = db.session.execute(select(Run.id, Run.state, Job.kind).join(Job, Job.id == Run.job_id).where(
        and_(unleased, ~pieces_live, or_(Run.state.in_(("running", "cancelling", "rolling_back")),
                           (Run.state == "queued") & (Run.created_at < lost_before))))).all()
    db.session.rollback()
    recovered = []
    for run_id, state, kind in stale:
        task = ROLLBACK_TASK if state == "rolling_back" else EXPORT_TASK if kind == "export" else IMPORT_TASK
        if enqueue(run_id, task=task, conn=conn):
            recovered.append(run_id)
    return recovered
