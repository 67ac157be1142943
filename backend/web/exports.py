"""JSON API for export jobs: check and preview a query (first 20 rows), save the job. Runs go through runs.py."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from backend.connectors import connector_class, targets
from backend.errors import ConfigError, InflowError, SalesforceError
from backend.extensions import db
from backend.models import Job, OrgConnection
from backend.models.audit import record
from backend.models.connections import Connection
from backend.pipeline.export import ExportQuery, check_query, soql_for_object
from backend.pipeline.export.engine import preview
from backend.pipeline.export.writers import FORMATS
from backend.pipeline.export.zones import zone
from backend.web.authn import current_identity, login_required
from backend.web.jobs_mapping import client_for_org

bp = Blueprint("exports", __name__)
PREVIEW_ROWS = 20


@bp.errorhandler(InflowError)
def inflow_error(err: InflowError) -> tuple[Response, int]:
    db.session.rollback()
    status = 502 if isinstance(err, SalesforceError) else 400
    return jsonify(error=type(err).__name__, message=err.message), status


def _soql(body: dict[str, Any]) -> str:
    """The user's SOQL, or one built from the object, the picked fields and the filter."""
    if str(body.get("soql") or "").strip():
        return str(body["soql"]).strip()
    obj = str(body.get("object") or "").strip()
    if not obj:
        raise ConfigError("Choose an object, or write a SOQL query.")
    fields = body.get("fields") or []
    if isinstance(fields, str):
        fields = fields.split(",")
    return soql_for_object(obj, [str(f) for f in fields] or ["Id"], str(body.get("where") or "") or None)


def _query(body: dict[str, Any]) -> tuple[ExportQuery, Any]:
    org_id = body.get("org_connection_id")
    if not org_id:
        raise ConfigError("Choose the Salesforce instance to export from.")
    client = client_for_org(current_identity().scope, str(org_id))
    return check_query(_soql(body), client.describe, include_deleted=bool(body.get("all"))), client


@bp.post("/api/exports/preview")
@login_required
def preview_export() -> Response:
    body = request.get_json(silent=True) or {}
    query, client = _query(body)
    rows = preview(client, query, limit=PREVIEW_ROWS, time_zone=body.get("time_zone") or None)
    return jsonify(soql=query.soql, object=query.object, columns=[c.name for c in query.columns], rows=rows)


@bp.post("/api/exports")
@login_required
def create_export() -> tuple[Response, int]:
    me = current_identity()
    body = request.get_json(silent=True) or {}
    name = str(body.get("name") or "").strip()
    if not name:
        raise ConfigError("Give the export a name.")
    fmt = body.get("format") or "csv"
    if fmt not in FORMATS:
        raise ConfigError("Export to CSV or Excel (.xlsx).")
    zone(body.get("time_zone") or None)  # an unknown zone is refused now, not at run time
    query, _ = _query(body)
    me.scope.get(OrgConnection, str(body["org_connection_id"]))
    target = _target(body.get("target"))
    job = Job(name=name[:255], kind="export", org_connection_id=str(body["org_connection_id"]),
              object_name=query.object, operation="export", mapping={},
              source={"soql": _soql(body), "all": bool(body.get("all")), "format": fmt,
                      "time_zone": body.get("time_zone") or None, "incremental": bool(body.get("incremental")),
                      "target": target})
    me.scope.add(job)
    db.session.flush()
    record("job.create", account_id=me.account.id, user_id=me.user.id if me.user else None, target=job.id)
    db.session.commit()
    return jsonify(id=job.id, name=job.name, object=job.object_name, source=job.source,
                   written_to=targets.where_for_job(me.scope, job.source)), 201


def _target(spec: Any) -> dict[str, Any]:
    """Download, or a table or file through one of the account's own connections of the fitting kind."""
    target = targets.check(spec if isinstance(spec, dict) else None)
    if target["kind"] != "download":
        row = current_identity().scope.get(Connection, target["connection_id"])  # another account's: 404
        kind = connector_class(row.type).kind
        if (target["kind"] == "table") != (kind == "database"):
            raise ConfigError(f"The connection {row.name!r} holds {'tables' if kind == 'database' else 'files'}: "
                              f"choose {'a table' if kind == 'database' else 'a file path'}.")
        if target["kind"] == "file" and not connector_class(row.type).takes_files:
            raise ConfigError(f"The connection {row.name!r} ({connector_class(row.type).label}) cannot take files: "
                              "choose an SFTP, FTPS, Amazon S3 or Dropbox connection.")
    return target
