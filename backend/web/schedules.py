"""JSON API for a job's schedule and notifications: preview a rule, set, pause, resume, remove (audited)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from backend.billing.plans import PlanRefused
from backend.errors import ConfigError
from backend.extensions import db
from backend.models import Job
from backend.models.audit import record
from backend.models.base import utcnow
from backend.runs import schedules
from backend.runs.notify import POLICIES
from backend.schedules import rules
from backend.web.authn import current_identity, login_required

bp = Blueprint("schedules_api", __name__)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SALESFORCE_ID = re.compile(r"^005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")


@bp.errorhandler(ConfigError)
@bp.errorhandler(rules.RuleError)
def refused(err: Exception) -> tuple[Response, int]:
    db.session.rollback()
    return jsonify(error=type(err).__name__, message=getattr(err, "message", str(err))), 400


@bp.errorhandler(PlanRefused)
def not_in_plan(err: PlanRefused) -> tuple[Response, int]:
    db.session.rollback()
    return jsonify(error="PlanRefused", message=err.message), 402


def _times(instants: list[datetime], tz_name: str) -> list[dict[str, str]]:
    tz = rules.zone(tz_name)
    return [{"local": i.astimezone(tz).isoformat(), "utc": i.astimezone(UTC).isoformat()} for i in instants]


def _actor() -> str | None:
    me = current_identity()
    return me.user.id if me.user else None


def schedule_json(job: Job) -> dict[str, Any]:
    reason = schedules.schedulable_reason(job)
    return {"job_id": job.id, "schedulable": reason is None, "reason": reason, "rule": job.schedule,
            "tz": job.schedule_tz, "paused": job.schedule_paused, "pause_reason": job.schedule_pause_reason,
            "next": [] if job.schedule_paused else _times(schedules.upcoming(job, 5), job.schedule_tz or "UTC"),
            "notify": {"on": job.notify_on, "emails": job.notify_emails or [],
                       "user_ids": job.notify_user_ids or [], "digest": job.notify_digest}}


@bp.get("/api/schedules/preview")
@login_required
def preview() -> Response:
    """The next run times of a rule as the user types it: `rule` (e.g. "daily 02:30"), `tz`, `n`."""
    rule = rules.parse(request.args.get("rule", ""))
    tz_name = request.args.get("tz") or "UTC"
    rules.zone(tz_name)
    n = min(max(int(request.args.get("n", "5") or 5), 1), 50)
    return jsonify(rule=rule.text, tz=tz_name, next=_times(rules.next_n(rule, tz_name, utcnow(), n), tz_name))


@bp.get("/api/jobs/<job_id>/schedule")
@login_required
def get_schedule(job_id: str) -> Response:
    return jsonify(schedule_json(current_identity().scope.get(Job, job_id)))


@bp.put("/api/jobs/<job_id>/schedule")
@login_required
def set_schedule(job_id: str) -> Response:
    body = request.get_json(silent=True) or {}
    job = schedules.set_schedule(current_identity().scope, job_id, str(body.get("rule") or ""),
                                 str(body.get("tz") or ""), user_id=_actor())
    return jsonify(schedule_json(job))


@bp.post("/api/jobs/<job_id>/schedule/pause")
@login_required
def pause(job_id: str) -> Response:
    return jsonify(schedule_json(schedules.pause(current_identity().scope, job_id, user_id=_actor())))


@bp.post("/api/jobs/<job_id>/schedule/resume")
@login_required
def resume(job_id: str) -> Response:
    return jsonify(schedule_json(schedules.resume(current_identity().scope, job_id, user_id=_actor())))


@bp.delete("/api/jobs/<job_id>/schedule")
@login_required
def remove(job_id: str) -> Response:
    return jsonify(schedule_json(schedules.remove(current_identity().scope, job_id, user_id=_actor())))


@bp.put("/api/jobs/<job_id>/notifications")
@login_required
def set_notifications(job_id: str) -> Response:
    """{"on": failure|success|always|never, "emails": [...], "user_ids": [Salesforce user ids], "digest": bool}"""
    me = current_identity()
    job = me.scope.get(Job, job_id)
    body = request.get_json(silent=True) or {}
    on = str(body.get("on") or "failure")
    if on not in POLICIES:
        raise ConfigError(f"Notify on {on!r}? Choose one of: {', '.join(POLICIES)}.")
    emails = [str(e).strip() for e in body.get("emails") or [] if str(e).strip()]
    bad = [e for e in emails if not EMAIL.match(e)]
    if bad:
        raise ConfigError(f"Not an e-mail address: {bad[0]}. Write one address per entry, e.g. ops@example.com.")
    users = [str(u).strip() for u in body.get("user_ids") or [] if str(u).strip()]
    bad = [u for u in users if not SALESFORCE_ID.match(u)]
    if bad:
        raise ConfigError(f"Not a Salesforce user id: {bad[0]} (user ids start with 005).")
    job.notify_on, job.notify_emails, job.notify_user_ids = on, emails, users
    job.notify_digest = bool(body.get("digest"))
    record("job.notifications", account_id=me.account.id, user_id=_actor(), target=job.id, on=on,
           emails=len(emails), users=len(users), digest=job.notify_digest)
    db.session.commit()
    return jsonify(schedule_json(job))
