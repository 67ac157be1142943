"""The importer's pages: the app shell, SLDS assets, and the screens it fetches into the shell as fragments.

Inside the canvas iframe there are no cookies, so the shell is rendered once (by the canvas entry or by
`/app` for a signed-in browser) and every screen is fetched with `Authorization: Bearer <app token>`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, send_from_directory

from backend.connectors import connector_types, targets
from backend.models import Job, OrgConnection, Run, User
from backend.models.connections import Connection
from backend.pipeline.mapping import OPERATIONS
from backend.pipeline.sources import source_types
from backend.settings import ROOT
from backend.web import ui_data
from backend.web.authn import current_identity, login_required
from backend.web.headers import framed_by_salesforce

bp = Blueprint("ui", __name__)
SLDS_ASSETS = ROOT / "node_modules" / "@salesforce-ux" / "design-system" / "assets"
SLDS_MAX_AGE = 7 * 24 * 3600  # the version is pinned in package.json; the files never change under a URL


@bp.get("/static/slds/<path:filename>")
def slds(filename: str):
    """SLDS CSS, icons and images straight from node_modules (never committed, never copied)."""
    return send_from_directory(SLDS_ASSETS, filename, max_age=SLDS_MAX_AGE)


@bp.get("/app")
@login_required
@framed_by_salesforce
def shell():
    """The importer for a browser signed in with a cookie (outside Salesforce)."""
    return render_template("app.html", shell={})


def render_shell(launch: dict[str, Any], canvas_scripts: list[str] | None = None) -> str:
    """For the canvas entry: the shell with the app token and the record page's parameters.

    launch keys: token (app token), expires_at (epoch s), record_id (record pages), client
    ({instanceId, targetOrigin} for Sfdc.canvas.client sizing).
    """
    return render_template("app.html", shell=launch, canvas_scripts=canvas_scripts or [])


@bp.get("/ui/home")
@login_required
def home():
    me = current_identity()
    return render_template("ui/home.html", jobs=ui_data.jobs_with_last_run(me.scope),
                           runs=ui_data.recent_runs(me.scope, limit=10))


@bp.get("/ui/wizard")
@login_required
def wizard():
    me = current_identity()
    job = me.scope.get(Job, request.args["job"]) if request.args.get("job") else None
    orgs = me.scope.all(OrgConnection, OrgConnection.status == "connected", order_by=OrgConnection.name)
    kinds = {t["type"]: t for t in connector_types()}
    saved = [{"id": c.id, "name": c.name, "label": kinds[c.type]["label"], "kind": kinds[c.type]["kind"]}
             for c in me.scope.all(Connection, order_by=Connection.name) if c.type in kinds]
    return render_template("ui/wizard.html", job=job, orgs=orgs, operations=OPERATIONS, connections=saved,
                           source_types=source_types(), default_org=me.org_connection_id)


@bp.get("/ui/export")
@login_required
def export_wizard():
    me = current_identity()
    orgs = me.scope.all(OrgConnection, OrgConnection.status == "connected", order_by=OrgConnection.name)
    return render_template("ui/export.html", orgs=orgs, default_org=me.org_connection_id)


@bp.get("/ui/migration")
@login_required
def migration_screen():
    from backend.migration.templates import describe

    me = current_identity()
    orgs = me.scope.all(OrgConnection, OrgConnection.status == "connected", order_by=OrgConnection.name)
    source = next((o.id for o in orgs if o.id != me.org_connection_id), None)  # the tab's org is the usual target
    return render_template("ui/migration.html", orgs=orgs, default_org=me.org_connection_id, default_source=source,
                           templates=describe())


@bp.get("/ui/runs/<run_id>")
@login_required
def run_page(run_id: str):
    me = current_identity()
    run = me.scope.get(Run, run_id)
    job = me.scope.get(Job, run.job_id)
    written_to = targets.where_for_job(me.scope, job.source) if job.kind == "export" else None
    # No call to Salesforce here: the screen asks /api/runs/<id>/record for its link once the page is shown,
    # so a slow or unreachable org never holds the page (issue 21, load test).
    return render_template("ui/run.html", run=run, job=job, written_to=written_to)


@bp.get("/ui/jobs/<job_id>")
@login_required
def job_page(job_id: str):
    me = current_identity()
    job = me.scope.get(Job, job_id)
    runs = ui_data.recent_runs(me.scope, job_id=job.id, limit=50)
    mapped = [f["field"] for f in (job.mapping or {}).get("fields") or [] if f.get("field")]
    return render_template("ui/job.html", job=job, runs=runs, mapped_fields=mapped,
                           last_run=ui_data.last_run_summary(runs[0] if runs else None))


@bp.get("/ui/record/<record_id>")
@login_required
def record_page(record_id: str):
    """A canvas on an Import_Run__c or Import_Job__c record page: that run's details, or that job's runs."""
    me = current_identity()
    found = ui_data.find_by_record(me, record_id)
    if found is None:  # another object's record page, or a record of another org: an empty state, not an error
        return render_template("ui/record_empty.html", record_id=record_id[:18])
    kind, row = found
    if kind == "run":
        return run_page(row.id)
    return job_page(row.id)


@bp.get("/ui/history")
@login_required
def history():
    me = current_identity()
    filters = ui_data.RunFilters.from_args(request.args)
    return render_template("ui/history.html", runs=ui_data.recent_runs(me.scope, filters=filters, limit=200),
                           filters=filters, states=ui_data.STATE_LABELS)


@bp.get("/ui/instances")
@login_required
def instances():
    me = current_identity()
    orgs = me.scope.all(OrgConnection, order_by=OrgConnection.name)
    launch_org = me.account.salesforce_org_id if me.via == "bearer" else None  # the org whose tab this page is in
    return render_template("ui/instances.html", orgs=orgs, current=me.org_connection_id, is_admin=me.is_admin,
                           status_labels=ui_data.ORG_STATUS_LABELS, launch_org_id=launch_org)


@bp.get("/ui/settings")
@login_required
def settings():
    from backend.web.settings_pages import RETENTION_MAX_DAYS
    from backend.web.signup import REGION_NAMES

    me = current_identity()
    users = me.scope.all(User, order_by=User.created_at) if me.is_admin else []
    return render_template("ui/settings.html", account=me.account, is_admin=me.is_admin, users=users,
                           region_name=REGION_NAMES.get(me.account.region, me.account.region),
                           retention_max=RETENTION_MAX_DAYS)
