"""Connected Salesforce instances: connect any number through OAuth (PKCE), list them, disconnect (revoke).

Connecting from the canvas iframe: the page (Bearer) asks /api/instances/connect for a single-use ticket,
opens a popup and POSTs the ticket to /instances/oauth/start. That top-level window gets a sealed,
HttpOnly `__Host-` cookie holding state and PKCE verifier, so the callback only completes in the browser
that started the flow (a state planted by someone else fails). The app token never enters a URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from urllib.parse import urlsplit

import requests
from flask import Blueprint, Response, jsonify, make_response, render_template, request

from backend.extensions import db
from backend.models import Account, Job, OrgConnection, Run, TenantScope, User
from backend.models.audit import record
from backend.salesforce import oauth
from backend.salesforce.identity import forget_org
from backend.security import revocation
from backend.security.tokens import TokenError, issue_app_token, seal, unseal
from backend.services import get_keyring, get_redis, get_settings
from backend.web.authn import admin_required, current_identity, login_required
from backend.web.reauth import refusal
from backend.web.ui_data import ORG_STATUS_LABELS

bp = Blueprint("instances", __name__)
TICKET_SECONDS = 120
FLOW = "oauth-connect"
FLOW_SECONDS = 600
FLOW_COOKIE = "__Host-inflow_oauth"
CALLBACK_PATH = "/instances/oauth/callback"
STOPPED = "Stopped: the Salesforce instance was disconnected."


def _ticket_key(ticket: str) -> str:
    return "inflow:oauth-ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


def describe(org: OrgConnection, current_id: str | None = None) -> dict:
    """What the UI may know about an instance: never its tokens."""
    return {"id": org.id, "name": org.name, "org_id": org.org_id, "instance_url": org.instance_url,
            "login_host_kind": org.login_host_kind, "namespace_prefix": org.namespace_prefix,
            "status": org.status, "status_label": ORG_STATUS_LABELS.get(org.status, org.status),
            "connected_at": org.created_at.isoformat(), "current": org.id == current_id}


@bp.get("/api/instances")
@login_required
def list_instances() -> Response:
    me = current_identity()
    rows = me.scope.all(OrgConnection, order_by=OrgConnection.created_at)
    return jsonify([describe(o, me.org_connection_id) for o in rows])


@bp.get("/api/instances/<instance_id>")
@login_required
def get_instance(instance_id: str) -> Response:
    me = current_identity()
    return jsonify(describe(me.scope.get(OrgConnection, instance_id), me.org_connection_id))


@bp.post("/api/instances/connect")
@admin_required
def connect() -> tuple[Response, int]:
    me = current_identity()
    body = request.get_json(silent=True) or {}
    try:
        login_url = oauth.login_url_for(str(body.get("kind", "")), body.get("my_domain"), get_settings())
    except ValueError as err:
        return jsonify(error="invalid_login_host", message=str(err)), 400
    ticket = secrets.token_urlsafe(32)
    get_redis().set(_ticket_key(ticket), json.dumps({
        "account_id": me.account.id, "user_id": me.user.id, "login_url": login_url,
        "kind": str(body["kind"])}), ex=TICKET_SECONDS)
    return jsonify(ticket=ticket, start_url="/instances/oauth/start", expires_in=TICKET_SECONDS), 201


@bp.post("/instances/oauth/start")
def start() -> Response | tuple[str, int]:
    raw = get_redis().getdel(_ticket_key(request.form.get("ticket", ""))) if request.form.get("ticket") else None
    if raw is None:
        return _page(400, "This link has expired", "Go back to Inflow and choose Connect again.")
    flow = json.loads(raw)
    settings = get_settings()
    url, state, verifier = oauth.authorization_url(flow["login_url"], settings.public_url + CALLBACK_PATH, settings)
    sealed = seal(get_keyring(), FLOW, {**flow, "state": state, "verifier": verifier}, FLOW_SECONDS)
    # A page that moves on by itself, not a redirect: the form that opened this window was posted under CSP
    # form-action 'self', which browsers also apply to where a redirect leads (the popup stayed blank).
    host = urlsplit(flow["login_url"]).netloc
    response = make_response(render_template("instances/start.html", url=url, host=host), 200)
    # Lax: the callback is a top-level GET redirect from Salesforce, which Lax cookies accompany.
    response.set_cookie(FLOW_COOKIE, sealed, max_age=FLOW_SECONDS, path="/", secure=True, httponly=True,
                        samesite="Lax")
    return response


@bp.get(CALLBACK_PATH)
def callback() -> Response:
    try:
        flow = unseal(get_keyring(), FLOW, request.cookies.get(FLOW_COOKIE, ""))
    except TokenError:
        flow = None
    if flow is None or not hmac.compare_digest(flow["state"].encode(), request.args.get("state", "").encode()):
        return _finish(400, "Connection not completed", "This sign-in did not start here or took too long. "
                       "Go back to Inflow and choose Connect again.")
    if request.args.get("error"):
        return _finish(403, "Not connected", "Salesforce did not grant access, so nothing was connected.")
    settings = get_settings()
    try:
        grant = oauth.exchange_code(flow["login_url"], settings.public_url + CALLBACK_PATH,
                                    request.args.get("code", ""), flow["verifier"], settings)
    except oauth.OAuthFlowError as err:
        return _finish(400, "Not connected", str(err))
    org = _save(flow, grant)
    if org is None:
        return _finish(403, "Not connected", "Your Inflow account or user no longer exists.")
    return _finish(200, "Connected", f"{org.name or org.org_id} is connected to Inflow.", connected=org.id)


def _save(flow: dict, grant: oauth.TokenGrant) -> OrgConnection | None:
    scope = TenantScope(flow["account_id"])
    user = db.session.scalars(scope.select(User).where(User.id == flow["user_id"])).first()
    if db.session.get(Account, flow["account_id"]) is None or user is None:
        return None
    org = db.session.scalars(scope.select(OrgConnection).where(OrgConnection.org_id == grant.org_id)).first()
    if org is None:
        org = scope.add(OrgConnection(org_id=grant.org_id))
    keyring = get_keyring()
    org.instance_url, org.login_url, org.login_host_kind = grant.instance_url, flow["login_url"], flow["kind"]
    org.connected_by = grant.user_id
    org.set_secret("access_token", grant.access_token, keyring)
    org.set_secret("refresh_token", grant.refresh_token, keyring)
    org.name = _org_name(grant) or org.name or grant.org_id
    org.status = "connected"
    record("instance.connected", account_id=scope.account_id, user_id=user.id, target=org.id,
           ip=request.remote_addr or "", org_id=grant.org_id, login_host_kind=flow["kind"])
    db.session.commit()
    return org


def _org_name(grant: oauth.TokenGrant) -> str:
    """The org's name for the list; cosmetic, so a failure leaves it blank."""
    version = get_settings().salesforce_api_version
    try:
        resp = requests.get(f"{grant.instance_url}/services/data/v{version}/query",
                            params={"q": "SELECT Name FROM Organization"},
                            headers={"Authorization": f"Bearer {grant.access_token}"}, timeout=oauth.TIMEOUT)
        return str(resp.json()["records"][0]["Name"])[:255] if resp.status_code == 200 else ""
    except (requests.RequestException, ValueError, KeyError, IndexError, TypeError):
        return ""


def _page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("canvas/error.html", title=title, message=message), status


def _finish(status: int, title: str, message: str, connected: str | None = None) -> Response:
    response = make_response(render_template("instances/done.html", title=title, message=message,
                                             connected=connected), status)
    response.delete_cookie(FLOW_COOKIE, path="/", secure=True, httponly=True, samesite="Lax")
    return response


@bp.post("/api/instances/<instance_id>/disconnect")
@admin_required
def disconnect(instance_id: str) -> Response:
    me = current_identity()
    org = me.scope.get(OrgConnection, instance_id)
    if (refused := refusal(me)) is not None:  # after the lookup: another tenant's id stays a 404
        return refused
    # First, so a Redis outage stops the whole Disconnect (503) before anything is revoked at Salesforce.
    revocation.end_org_tokens(get_redis(), org.id, get_settings().app_token_minutes * 60)
    revoked = oauth.revoke_org(org)
    forget_org(get_redis(), org.org_id)  # envelopes of this org are asked about at Salesforce again at once
    org.access_token = org.refresh_token = None
    org.status = "disconnected"
    record("instance.disconnected", account_id=me.account.id, user_id=me.user.id, target=org.id,
           ip=request.remote_addr or "", org_id=org.org_id, revoked=revoked)
    db.session.commit()
    stopped = cancel_runs(me.scope, org)
    answer = {**describe(org, me.org_connection_id), "revoked": revoked, "runs_stopped": stopped}
    if me.app_token is not None and me.org_connection_id == org.id:
        # The page was opened from this org, so its token just ended: a fresh one without the org keeps the
        # admin on a page that says what happened, instead of a "session ended" banner.
        settings = get_settings()
        answer["token"], answer["expires_at"] = issue_app_token(
            get_keyring(), account_id=me.account.id, user_id=me.user.id, org_connection_id=None,
            region=settings.region, ttl_seconds=settings.app_token_minutes * 60)
    return jsonify(answer)


@bp.post("/api/instances/<instance_id>/reconnect")
@admin_required
def reconnect(instance_id: str) -> tuple[Response, int]:
    """An admin's explicit Reconnect of the org the page was opened from: its tokens come from a fresh signed
    request (Sfdc.canvas.client.refreshSignedRequest), so no popup and no password are needed."""
    from backend.web.canvas import verified_envelope
    from backend.web.canvas_launch import take_launch_tokens

    me = current_identity()
    org = me.scope.get(OrgConnection, instance_id)
    canvas = verified_envelope(str((request.get_json(silent=True) or {}).get("signed_request") or ""))
    if canvas is None:
        return jsonify(error="not_verified", message="Salesforce did not confirm this page; reload the tab."), 401
    if canvas.org_id != org.org_id or canvas.user_id != me.user.salesforce_user_id \
            or not canvas.client.get("oauthToken"):
        return jsonify(error="other_org", message="Open Inflow from this org's own tab to reconnect it, or "
                       "connect it again with its login below."), 409
    take_launch_tokens(org, canvas, oauth.salesforce_url(canvas.instance_url, get_settings()), get_keyring())
    record("instance.reconnected", account_id=me.account.id, user_id=me.user.id, target=org.id,
           ip=request.remote_addr or "", org_id=org.org_id)
    db.session.commit()
    return jsonify(describe(org, me.org_connection_id)), 200


def cancel_runs(scope: TenantScope, org: OrgConnection) -> list[str]:
    """Cancel queued runs that write into `org`; running ones move to `cancelling` and stop at their next
    chunk. Returns the ids of the runs asked to stop."""
    from backend.runs.service import cancel

    ids = [run.id for run in db.session.scalars(scope.select(Run).join(Job, Job.id == Run.job_id).where(
        Job.org_connection_id == org.id, Run.state.in_(("queued", "running"))))]
    for run_id in ids:
        run = cancel(scope, run_id)
        run.error_summary = STOPPED
        db.session.commit()
    return ids
