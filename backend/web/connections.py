"""JSON API for an account's connections: list, create (tested first), rename/edit, test, browse, preview, delete.

Secrets go in and never come back out; every change is an audit event (`connectors/stored.py`). An SFTP
server's host key is accepted explicitly: a create without `host_key` that meets an unknown key answers 409
with the fingerprint, and the client sends it back once the user has accepted it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from backend.connectors import ConnectorError, connector_class, connector_types
from backend.connectors import stored as connections
from backend.errors import InflowError
from backend.extensions import db
from backend.models.audit import record
from backend.models.connections import Connection
from backend.services import get_settings
from backend.web.authn import admin_required, current_identity, login_required

bp = Blueprint("connections", __name__)
SPEC_KEYS = ("table", "columns", "where", "query", "path", "pick", "time_zone", "unsupported_as_text",
             "spreadsheet_id")


def _refusal(err: InflowError, status: int = 400) -> tuple[Response, int]:
    return jsonify(error="connection_failed", stage=getattr(err, "stage", "config"), message=err.message), status


def _loopback() -> bool:
    return get_settings().egress_allow_loopback


@bp.get("/ui/connections")
@login_required
def page() -> str:
    """The Connections screen: list, add (tested first), test, preview and delete saved connections."""
    me = current_identity()
    rows = [connections.describe(c) for c in me.scope.all(Connection, order_by=Connection.name)]
    return render_template("ui/connections.html", rows=rows, types=connector_types(), is_admin=me.is_admin)


@bp.get("/api/connections")
@login_required
def list_connections() -> Response:
    me = current_identity()
    return jsonify([connections.describe(c) for c in me.scope.all(Connection, order_by=Connection.name)])


@bp.get("/api/connections/types")
@login_required
def types() -> Response:
    return jsonify(connector_types())


@bp.post("/api/connections")
@admin_required
def create() -> tuple[Response, int]:
    me = current_identity()
    body = request.get_json(silent=True) or {}
    try:
        params = _params(body)
        row = connections.create(me.scope, str(body.get("name", "")), params["type"], params["values"],
                                 user_id=me.user.id)
        connector = connections.connector(row, allow_loopback=_loopback())
        message = connector.test() if body.get("test", True) else ""
        learned = getattr(connector, "learned", None)
        if learned:
            db.session.rollback()
            return jsonify(error="host_key_unconfirmed", stage="host_key", host_key=learned["host_key"],
                           message=f"{message} Check the fingerprint with the server's administrator, then accept "
                                   "it to save the connection."), 409
    except InflowError as err:
        db.session.rollback()
        return _refusal(err)
    db.session.commit()
    return jsonify({**connections.describe(row), "message": message}), 201


def _params(body: dict[str, Any]) -> dict[str, Any]:
    """{type, values} from a URL (`url`) or a type and its fields (`type`, `params`)."""
    if body.get("url"):
        from backend.connectors import type_for_url

        cls = type_for_url(str(body["url"]))
        values = {**cls.params_from_url(str(body["url"])), **(body.get("params") or {})}
        return {"type": cls.type, "values": values}
    cls = connector_class(str(body.get("type", "")))
    return {"type": cls.type, "values": dict(body.get("params") or {})}


@bp.get("/api/connections/<connection_id>")
@login_required
def get_connection(connection_id: str) -> Response:
    return jsonify(connections.describe(current_identity().scope.get(Connection, connection_id)))


@bp.patch("/api/connections/<connection_id>")
@admin_required
def edit(connection_id: str) -> Response | tuple[Response, int]:
    me = current_identity()
    row = me.scope.get(Connection, connection_id)
    body = request.get_json(silent=True) or {}
    try:
        params = _edited_params(row, body)
        connections.update(me.scope, row, name=body.get("name"), params=params, user_id=me.user.id)
        if params is not None and body.get("test", True):  # changed parameters are tested before they are kept
            connections.connector(row, allow_loopback=_loopback()).test()
    except InflowError as err:
        db.session.rollback()
        return _refusal(err)
    db.session.commit()
    return jsonify(connections.describe(row))


def _edited_params(row: Connection, body: dict[str, Any]) -> dict[str, Any] | None:
    """The changed parameters of an edit: `params`, and/or a `url` of the same type whose parts left out
    (an empty password, no keys) keep the stored values."""
    params = dict(body.get("params") or {})
    if body.get("url"):
        from backend.connectors import type_for_url

        cls = type_for_url(str(body["url"]))
        if cls.type != row.type:
            raise ConnectorError("config", f"This is a {row.type} connection; give a URL of the same kind.")
        given = {k: v for k, v in cls.params_from_url(str(body["url"])).items() if v not in (None, "")}
        params = {**given, **params}
    return params or None


@bp.delete("/api/connections/<connection_id>")
@admin_required
def delete(connection_id: str) -> Response | tuple[Response, int]:
    me = current_identity()
    row = me.scope.get(Connection, connection_id)
    try:
        revoked = connections.remove(me.scope, row, user_id=me.user.id, allow_loopback=_loopback())
    except InflowError as err:
        db.session.rollback()
        return _refusal(err, 409)
    db.session.commit()
    return jsonify(deleted=connection_id, revoked=revoked)


@bp.post("/api/connections/<connection_id>/test")
@login_required
def test(connection_id: str) -> Response:
    me = current_identity()
    row = me.scope.get(Connection, connection_id)
    user_id = me.user.id if me.user else None
    try:
        message = connections.connector(row, allow_loopback=_loopback()).test()
    except ConnectorError as err:
        record("connection.test", account_id=me.account.id, user_id=user_id, target=row.id, ok=False, stage=err.stage)
        db.session.commit()
        return jsonify(ok=False, stage=err.stage, message=err.message)
    record("connection.test", account_id=me.account.id, user_id=user_id, target=row.id, ok=True)
    db.session.commit()
    return jsonify(ok=True, message=message)


@bp.get("/api/connections/<connection_id>/browse")
@login_required
def browse(connection_id: str) -> Response | tuple[Response, int]:
    row = current_identity().scope.get(Connection, connection_id)
    try:
        entries = connections.connector(row, allow_loopback=_loopback()).browse(request.args.get("path", ""))
    except InflowError as err:
        db.session.commit()  # an OAuth token refreshed before the failure is kept
        return _refusal(err)
    db.session.commit()  # an OAuth token refreshed on the way is stored back
    return jsonify([e.to_dict() for e in entries])


@bp.post("/api/connections/<connection_id>/preview")
@login_required
def preview(connection_id: str) -> Response | tuple[Response, int]:
    row = current_identity().scope.get(Connection, connection_id)
    body = request.get_json(silent=True) or {}
    spec = {k: body[k] for k in SPEC_KEYS if k in body}
    try:
        columns, rows = connections.connector(row, allow_loopback=_loopback()).preview(spec)
    except InflowError as err:
        db.session.commit()  # an OAuth token refreshed before the failure is kept
        return _refusal(err)
    db.session.commit()  # an OAuth token refreshed on the way is stored back
    return jsonify(columns=columns, rows=rows)
