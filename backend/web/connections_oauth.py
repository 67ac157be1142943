"""Connect Dropbox or Google Sheets: OAuth 2.0 authorization code with PKCE, in a window of its own.

1. `POST /api/connections/oauth/<type_name>` (an admin, from the Connections page; CSRF as every API call)
   answers a single-use ticket (in Redis, 2 minutes) naming the account, the user and the connection to make.
2. The page POSTs the ticket into a new window (so it never appears in a URL), as Connect for Salesforce
   instances does: `POST /connections/oauth/start` turns it into a sealed, browser-bound flow cookie (state,
   PKCE verifier, the ticket's claims) and moves on to the provider's consent page.
3. The provider sends the browser to `GET /connections/oauth/callback`: the state must match the cookie's,
   the code is exchanged with the verifier (through the egress guard), and the connection is saved for
   the ticket's account with its tokens encrypted (`connection.create`). Disconnect = delete: the grant is
   revoked at the provider (`stored.remove`).
"""

from __future__ import annotations

import hmac
import json
import secrets

from flask import Blueprint, Response, jsonify, make_response, render_template, request

from backend.connectors import ConnectorError, connector_class, oauth
from backend.connectors import stored as connections
from backend.errors import InflowError
from backend.extensions import db
from backend.models import User
from backend.models.base import TenantScope
from backend.security.tokens import TokenError, seal, unseal
from backend.services import get_keyring, get_redis, get_settings
from backend.web import csrf
from backend.web.authn import admin_required, current_identity

bp = Blueprint("connections_oauth", __name__)

OAUTH_TYPES = ("dropbox", "gsheets")
START_PATH, CALLBACK_PATH = "/connections/oauth/start", "/connections/oauth/callback"
FLOW = "connection-oauth"
FLOW_COOKIE = "__Host-inflow_connect"
TICKET_SECONDS, FLOW_SECONDS = 120, 600
SPEC_PARAMS = {"dropbox": ("path",), "gsheets": ("spreadsheet_id",)}  # what the user names before connecting


@bp.post("/api/connections/oauth/<type_name>")
@admin_required
def begin(type_name: str) -> tuple[Response, int]:
    if type_name not in OAUTH_TYPES:
        return jsonify(error="not_found", message=f"{type_name} does not connect with OAuth."), 404
    me = current_identity()
    body = request.get_json(silent=True) or {}
    name = str(body.get("name") or "").strip()
    if not name or connections.find(me.scope, name) is not None:
        return jsonify(error="connection_failed", stage="config",
                       message="Give the connection a name no other connection has."), 400
    params = {k: str(body.get(k) or "").strip() for k in SPEC_PARAMS[type_name]}
    claims = {"account_id": me.account.id, "user_id": me.user.id, "type": type_name, "name": name, "params": params}
    ticket = secrets.token_urlsafe(32)
    get_redis().set(_ticket_key(ticket), json.dumps(claims), ex=TICKET_SECONDS)
    return jsonify(ticket=ticket, start_url=START_PATH, expires_in=TICKET_SECONDS), 201


@bp.post(START_PATH)
@csrf.csrf_exempt  # the single-use ticket is the credential; the popup has no session of its own
def start() -> Response | tuple[str, int]:
    ticket = request.form.get("ticket", "")
    raw = get_redis().getdel(_ticket_key(ticket)) if ticket else None
    if raw is None:
        return _done(400, "This link has expired", "Go back to Inflow and press Connect again.")
    claims = json.loads(raw)
    cls = connector_class(claims["type"])
    settings = get_settings()
    try:
        url, state, verifier = oauth.authorization_url(cls.from_settings(settings), _redirect_uri(), cls.scope,
                                                       cls.authorize_extra)
    except ConnectorError as err:
        return _done(400, f"Cannot connect {cls.label}", err.message)
    # A page that moves on by itself, not a redirect: CSP form-action 'self' also covers where a redirect leads.
    response = make_response(render_template("ui/connection_oauth_start.html", url=url, label=cls.label), 200)
    # Lax: the callback is a top-level GET redirect from the provider, which Lax cookies accompany.
    response.set_cookie(FLOW_COOKIE, seal(get_keyring(), FLOW, {**claims, "state": state, "verifier": verifier},
                                          FLOW_SECONDS), max_age=FLOW_SECONDS, path="/", secure=True,
                        httponly=True, samesite="Lax")
    return response


@bp.get(CALLBACK_PATH)
def callback() -> Response | tuple[str, int]:
    """A GET by protocol; the sealed, browser-bound state and PKCE stop a forged or replayed callback."""
    try:
        flow = unseal(get_keyring(), FLOW, request.cookies.get(FLOW_COOKIE, ""))
    except TokenError:
        flow = None
    if flow is None or not hmac.compare_digest(flow["state"].encode(), request.args.get("state", "").encode()):
        return _done(400, "Not connected", "This connection did not start in this browser or took too long. "
                                           "Go back to Inflow and press Connect again.")
    cls = connector_class(flow["type"])
    if request.args.get("error"):
        return _done(400, "Not connected", f"{cls.label} did not grant access.")
    user = db.session.get(User, flow["user_id"])
    if user is None or user.account_id != flow["account_id"]:  # tenant-bound: the ticket's own account only
        return _done(403, "Not connected", "The user who started this connection is no longer in the account.")
    settings = get_settings()
    try:
        token = oauth.exchange_code(cls.from_settings(settings), _redirect_uri(), request.args.get("code", ""),
                                    flow["verifier"], allow_loopback=settings.egress_allow_loopback, label=cls.label)
        tokens = {k: token[k] for k in oauth.TOKEN_KEYS if token.get(k)}
        row = connections.create(TenantScope(flow["account_id"]), flow["name"], cls.type,
                                 {**flow["params"], **tokens}, user_id=user.id)
    except InflowError as err:
        db.session.rollback()
        return _done(400, "Not connected", err.message)
    db.session.commit()
    return _done(200, f"{cls.label} connected", f"Saved as connection {row.name!r}. You can close this window.",
                 connected=row.id)


def _ticket_key(ticket: str) -> str:
    return f"inflow:connection-oauth-ticket:{ticket}"


def _redirect_uri() -> str:
    return get_settings().public_url.rstrip("/") + CALLBACK_PATH


def _done(status: int, title: str, message: str, connected: str | None = None) -> Response:
    response = make_response(render_template("ui/connection_oauth_done.html", title=title, message=message,
                                             connected=connected), status)
    response.delete_cookie(FLOW_COOKIE, path="/", secure=True, httponly=True, samesite="Lax")
    return response
