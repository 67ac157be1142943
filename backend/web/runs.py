"""JSON API for runs: start, progress (polled), cancel, result downloads (audited), error summary, rollback, history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request, stream_with_context

from backend.billing.plans import PlanRefused
from backend.billing.usage import QuotaExceeded
from backend.connectors import targets
from backend.extensions import db
from backend.models import Job, NotFound, OrgConnection, Run
from backend.models.audit import record
from backend.models.runs import InvalidTransition
from backend.pipeline.xlsx_out import csv_to_xlsx
from backend.runs import error_groups as run_errors
from backend.runs import service
from backend.web.authn import current_identity, login_required
from backend.web.ui_data import STATE_LABELS, RunFilters, recent_runs, run_record_url

bp = Blueprint("runs_api", __name__)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _actor() -> dict[str, Any]:
    me = current_identity()
    return {"account_id": me.account.id, "user_id": me.user.id if me.user else None,
            "ip": request.remote_addr or ""}


def run_json(run_id: str) -> dict[str, Any]:
    me = current_identity()
    # Polled every second: the run (read fresh) and the job columns it shows in one statement; each query
    # and each column decoded counts (issue 21).
    found = db.session.execute(
        me.scope.select(Run).add_columns(Job.name, Job.object_name, Job.operation, Job.kind, Job.source)
        .join(Job, (Job.id == Run.job_id) & (Job.account_id == me.scope.account_id))
        .where(Run.id == run_id).execution_options(populate_existing=True)).first()
    if found is None:
        raise NotFound(f"Run {run_id} not found")
    run, job = found[0], found
    data = service.progress_of(run)
    data.update(job_id=run.job_id, job_name=job.name, object=job.object_name, operation=job.operation,
                state_label=STATE_LABELS.get(data["state"], data["state"]),
                can_cancel=data["state"] in ("queued", "running"),
                can_rollback=data["state"] in ("succeeded", "partial") and data["succeeded"] > 0
                and job.kind != "export", kind=job.kind)
    if job.kind == "export":
        data["written_to"] = targets.where_for_job(me.scope, job.source)
    return data


@bp.post("/api/jobs/<job_id>/runs")
@login_required
def start(job_id: str) -> tuple[Response, int]:
    me = current_identity()
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and (len(key) > 64 or not key.isprintable()):
        return jsonify(error="invalid_idempotency_key",
                       message="Idempotency-Key must be at most 64 printable characters."), 400
    skip = (request.get_json(silent=True) or {}).get("skip_existing") or None
    if skip is not None and not (isinstance(skip, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,79}", skip)):
        return jsonify(error="invalid_skip_existing", message="skip_existing is a field's API name."), 400
    try:
        run, created = service.start_run(me.scope, job_id, initiated_by=me.user.id if me.user else None,
                                         idempotency_key=key, skip_existing=skip)
    except PlanRefused as refused:  # 402: what the plan allows, how many rows are left, where to upgrade
        return jsonify(error="quota_exceeded" if isinstance(refused, QuotaExceeded) else "plan_refused",
                       message=refused.message, rows_left=getattr(refused, "rows_left", None),
                       upgrade_url="/billing"), 402
    if not created:  # a double click, or a retried request: the same run, not a second import
        return jsonify(run_json(run.id)), 200
    record("run.start", target=run.id, **_actor())
    db.session.commit()
    return jsonify(run_json(run.id)), 201


@bp.get("/api/runs")
@login_required
def history() -> Response:
    rows = recent_runs(current_identity().scope, filters=RunFilters.from_args(request.args), limit=200)
    return jsonify([{"id": r.run.id, "job_id": r.job.id, "job_name": r.job.name, "object": r.job.object_name,
                     "state": r.run.state, "rows_read": r.run.rows_read, "succeeded": r.run.rows_succeeded,
                     "failed": r.run.rows_failed, "created_at": r.run.created_at.isoformat()} for r in rows])


@bp.get("/api/runs/<run_id>")
def progress(run_id: str) -> Response:
    # Only reads, polled every second: no BEGIN and ROLLBACK round trips around its two statements. Each
    # statement sees what was committed when it started, as it would inside a READ COMMITTED transaction.
    # (A session that already holds a connection, as tests sharing one app context do, keeps its own.)
    if not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return _progress(run_id)


@login_required
def _progress(run_id: str) -> Response:
    return jsonify(run_json(run_id))


@bp.post("/api/runs/<run_id>/cancel")
@login_required
def cancel(run_id: str) -> Response:
    run = service.cancel(current_identity().scope, run_id)
    record("run.cancel", target=run.id, **_actor())
    db.session.commit()
    return jsonify(run_json(run.id))


@bp.post("/api/runs/<run_id>/rollback")
@login_required
def rollback(run_id: str) -> tuple[Response, int]:
    try:
        run = service.rollback(current_identity().scope, run_id)
    except InvalidTransition:
        db.session.rollback()
        return jsonify(error="conflict", message="Only a finished run that wrote records can be rolled back."), 409
    record("run.rollback", target=run.id, **_actor())
    db.session.commit()
    return jsonify(run_json(run.id)), 202


@bp.get("/api/runs/<run_id>/files/<kind>")
@login_required
def download(run_id: str, kind: str) -> Response:
    """A result file, decrypted as it streams (`?format=xlsx`: as an Excel workbook); every download is audited."""
    me = current_identity()
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        return jsonify(error="invalid_format", message="format is csv or xlsx."), 400
    blob, reader = service.result_file(me.scope, run_id, kind)
    run = me.scope.get(Run, run_id)
    job = me.scope.get(Job, run.job_id)
    stored_xlsx = blob.name.endswith(".xlsx")  # an export written as Excel: served as it is
    fmt = "xlsx" if stored_xlsx else fmt
    record("run.download", target=run_id, kind=kind, blob_id=blob.id, format=fmt, **_actor())
    db.session.commit()
    name = result_file_name(job.name, job.object_name, kind, run.created_at, fmt)
    disposition = {"Content-Disposition": f"attachment; filename=\"{name}\""}

    def body() -> Iterator[bytes]:
        with reader:
            if fmt == "xlsx" and not stored_xlsx:
                yield from csv_to_xlsx(reader)
                return
            while chunk := reader.read(256 * 1024):
                yield chunk

    if fmt == "xlsx":
        size = {"Content-Length": str(blob.size)} if stored_xlsx else {}
        return Response(stream_with_context(body()), mimetype=XLSX_TYPE, headers={**disposition, **size})
    return Response(stream_with_context(body()), mimetype="text/csv",
                    headers={**disposition, "Content-Length": str(blob.size)})


def result_file_name(job: str, object_name: str, kind: str, when: datetime | None, fmt: str) -> str:
    """`<job> - <object> - <kind> - <date>.<fmt>`, with only characters every browser and OS keep."""
    label = {"success": "success", "error": "errors", "rollback": "rollback"}.get(kind, kind)
    stamp = when.strftime("%Y-%m-%d %H%M") if when else ""
    parts = [re.sub(r"[^\w .()+-]+", "_", p, flags=re.ASCII).strip(" ._") for p in (job, object_name, label, stamp)]
    return " - ".join(p for p in parts if p)[:180] + f".{fmt}"


@bp.get("/api/runs/<run_id>/record")
@login_required
def record_link(run_id: str) -> Response:
    """The run's Import_Run__c record page in the org, once the run history has been written there."""
    me = current_identity()
    run = me.scope.get(Run, run_id)
    job = me.scope.get(Job, run.job_id)
    orgs = me.scope.all(OrgConnection, OrgConnection.id == job.org_connection_id) if job.org_connection_id else []
    usable = orgs and orgs[0].status == "connected"
    return jsonify(url=run_record_url(orgs[0], run) if usable else None)


@bp.get("/api/runs/<run_id>/errors")
@login_required
def error_groups(run_id: str) -> Response:
    """The first errors of the error file, grouped by message, with the first rows of each group."""
    return jsonify(groups=run_errors.error_groups(current_identity().scope, run_id))
