"""JSON API for org-to-org migrations: templates, a dry run (counts per object, nothing written) and starting
a run of a multi-object job (`Job.kind == "migrate"`, runs/multi.py) through the worker."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request

from backend.billing.plans import PlanRefused
from backend.errors import ConfigError, InflowError, SalesforceError
from backend.extensions import db
from backend.migration import templates
from backend.migration.engine import Migration
from backend.migration.plan import Plan
from backend.models import Job, OrgConnection
from backend.models.audit import record
from backend.runs import service
from backend.runs.files import DirResultParts
from backend.runs.journal import MemoryJournal
from backend.runs.multi import MIGRATE_KIND
from backend.web.authn import current_identity, login_required
from backend.web.jobs_mapping import client_for_org
from backend.web.runs import run_json

bp = Blueprint("migrations", __name__)


@bp.errorhandler(InflowError)
def inflow_error(err: InflowError) -> tuple[Response, int]:
    db.session.rollback()
    status = 502 if isinstance(err, SalesforceError) else 400
    return jsonify(error=type(err).__name__, message=err.message), status


def _plan(body: dict[str, Any]) -> dict[str, Any]:
    objects = body.get("objects") or []
    if isinstance(objects, str):
        objects = objects.split(",")
    where, match = body.get("where") or {}, body.get("match") or {}
    if not isinstance(where, dict) or not isinstance(match, dict):
        raise ConfigError("where and match map an object to a condition and to a list of fields.")
    match = {o: (f.split("+") if isinstance(f, str) else list(f)) for o, f in match.items()}
    return templates.build_plan(body.get("template") or None, [str(o).strip() for o in objects if str(o).strip()],
                                {str(k): str(v) for k, v in where.items()}, match,
                                str(body.get("fallback_owner") or "").strip() or None)


def _orgs(body: dict[str, Any]) -> tuple[str, str]:
    """The source and target connections, both of this account (scope.get: another tenant's id is a 404)."""
    me = current_identity()
    src, dst = str(body.get("source_org_connection_id") or ""), str(body.get("target_org_connection_id") or "")
    if not src or not dst:
        raise ConfigError("Choose the instance to copy from and the instance to copy into.")
    if src == dst:
        raise ConfigError("Copy between two different instances.")
    me.scope.get(OrgConnection, src)
    me.scope.get(OrgConnection, dst)
    return src, dst


@bp.get("/api/migrations")
@login_required
def list_migrations() -> Response:
    me = current_identity()
    jobs = me.scope.all(Job, Job.kind == MIGRATE_KIND, order_by=Job.created_at.desc())
    return jsonify(templates=templates.describe(), jobs=[_job_json(j) for j in jobs])


@bp.get("/api/migrations/<job_id>")
@login_required
def get_migration(job_id: str) -> Response:
    job = current_identity().scope.get(Job, job_id)
    if job.kind != MIGRATE_KIND:
        return jsonify(error="not_found", message="No such migration."), 404
    return jsonify(_job_json(job))


def _job_json(job: Job) -> dict[str, Any]:
    return {"id": job.id, "name": job.name, "objects": job.object_name, "plan": (job.mapping or {}).get("plan"),
            "source_org_connection_id": (job.source or {}).get("org_connection_id"),
            "target_org_connection_id": job.org_connection_id}


@bp.post("/api/migrations/dry-run")
@login_required
def dry_run() -> Response:
    """Reads the source and the target (match rules, owners, record types) and writes nothing."""
    me = current_identity()
    body = request.get_json(silent=True) or {}
    src, dst = _orgs(body)
    plan = _plan(body)
    with tempfile.TemporaryDirectory(prefix="inflow-dry-") as tmp:
        parts = DirResultParts(Path(tmp))  # a dry run writes no part; the engine wants somewhere to put them
        m = Migration(Plan.from_dict(plan), client_for_org(me.scope, dst), client_for_org(me.scope, src),
                      journal=MemoryJournal(), parts=parts)
        result = m.run(dry_run=True)
    return jsonify(order=result.order.reasons, plan=plan, steps=[
        {"object": s.object, "read": s.read, "insert": s.inserted, "update": s.updated, "unmatched": s.unmatched,
         "second_pass": s.second_pass} for s in result.steps])


@bp.post("/api/migrations")
@login_required
def start_migration() -> tuple[Response, int]:
    """Save the migration as a multi-object job and start its run on the worker."""
    me = current_identity()
    body = request.get_json(silent=True) or {}
    src, dst = _orgs(body)
    plan = _plan(body)
    objects = ", ".join(s["object"] for s in plan["steps"])
    name = str(body.get("name") or "").strip() or f"Migration: {objects}"
    job = me.scope.add(Job(name=name[:255], kind=MIGRATE_KIND, source={"type": "org", "org_connection_id": src},
                           org_connection_id=dst, object_name=objects[:255], operation="insert",
                           mapping={"plan": plan}))
    db.session.flush()
    user_id = me.user.id if me.user else None
    record("job.create", account_id=me.account.id, user_id=user_id, target=job.id)
    db.session.commit()
    try:
        run, _ = service.start_run(me.scope, job.id, initiated_by=user_id)
    except PlanRefused as refused:
        return jsonify(error="plan_refused", message=refused.message, job_id=job.id, upgrade_url="/billing"), 402
    record("run.start", account_id=me.account.id, user_id=user_id, target=run.id)
    db.session.commit()
    return jsonify({**run_json(run.id), "job_id": job.id}), 201
