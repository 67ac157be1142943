"""The canvas entry point: Salesforce POSTs a signed request; the page gets a short-lived app token."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for

from backend.extensions import db
from backend.models.audit import record
from backend.salesforce.identity import IdentityUnavailable, TokenNotConfirmed, confirm_token
from backend.salesforce.oauth import authorization_url, salesforce_url
from backend.security import ratelimit
from backend.security.canvas import CanvasError, CanvasRequest, verify_signed_request
from backend.security.tokens import TokenError, issue_app_token, seal, unseal
from backend.services import get_keyring, get_redis, get_settings
from backend.web.canvas_launch import Launch, LaunchRefused, find_account, provision_once
from backend.web.headers import allow_sources, framed_by_salesforce
from backend.web.regions import RegionUnavailable, elsewhere_page, region_holding
from backend.web.ui import render_shell
from backend.web.ui_data import ORG_STATUS_LABELS

bp = Blueprint("canvas", __name__)
APPROVAL = "canvas-approval"
APPROVAL_MINUTES = 10
# Forged requests are audited, but one address cannot fill the audit log: past this it gets 429 unaudited.
REJECTIONS_PER_IP = ratelimit.Limit("canvas-reject-ip", 30, 15 * 60)


class _Stop(Exception):
    """Ends a launch early with a ready page (rejected, another region, refused)."""

    def __init__(self, status: int, title: str, message: str, region: str | None = None):
        super().__init__(message)
        self.status, self.title, self.message, self.region = status, title, message, region


def _client_ip() -> str:
    return request.remote_addr or ""


def _verify(signed_request: str) -> CanvasRequest:
    """The signed request, checked by its HMAC and then by asking the org whose token it carries."""
    settings = get_settings()
    try:
        canvas = verify_signed_request(signed_request, settings.salesforce_client_secret)
    except CanvasError as err:
        _reject(err.reason)
        raise _Stop(401, "Inflow could not verify this request",
                    "Open Inflow from its tab in Salesforce. If this keeps happening, ask your Salesforce "
                    "admin to check that the Inflow package is installed and up to date.") from None
    _confirm(canvas)
    return canvas


def _confirm(canvas: CanvasRequest) -> None:
    """Replay is bounded by the envelope's token, not by issuedAt (docs/accounts.md)."""
    settings = get_settings()
    try:
        instance_url = salesforce_url(canvas.instance_url, settings)
        confirm_token(get_redis(), instance_url, canvas.oauth_token, canvas.user_id, canvas.org_id,
                      allow_loopback=settings.egress_allow_loopback)
    except (ValueError, TokenNotConfirmed) as err:
        _reject(f"token not confirmed: {err}")
        raise _Stop(401, "Your Salesforce session has ended",
                    "Reload this Salesforce tab to open Inflow again. If you logged out of Salesforce or an "
                    "admin disconnected Inflow, log in again first.") from None
    except IdentityUnavailable:
        db.session.rollback()
        raise _Stop(503, "Salesforce did not answer",
                    "Inflow could not confirm your Salesforce session. Reload the tab in a minute.") from None


def verified_envelope(signed_request: str) -> CanvasRequest | None:
    """A signed request checked as a launch would check it (refusals audited), or None."""
    try:
        return _verify(signed_request)
    except _Stop:
        return None


def _reject(reason: str) -> None:
    """Audit a refused request (ip and reason, never the payload: it holds a token); 429 past the limit."""
    db.session.rollback()
    if not ratelimit.hit(get_redis(), REJECTIONS_PER_IP, _client_ip()):
        raise _Stop(429, "Too many rejected requests", "Wait a few minutes, then open Inflow again.")
    record("canvas.rejected", ip=_client_ip(), reason=reason)
    db.session.commit()


def _launch(signed_request: str) -> tuple[Launch, CanvasRequest]:
    """Verify, route to the account's region, provision; commits and audits `canvas.launch`."""
    settings = get_settings()
    canvas = _verify(signed_request)
    account = find_account(canvas.org_id)
    home = account.region if account is not None else None
    if home is None:
        try:
            home = region_holding(canvas.org_id, settings)
        except RegionUnavailable:
            raise _Stop(503, "Inflow is briefly unavailable",
                        "Inflow could not confirm where your account is stored. Try again in a minute.") from None
    if home is not None and home != settings.region:
        raise _Stop(409, "", "", region=home)
    try:
        launch = provision_once(canvas, settings, get_keyring())
    except LaunchRefused as err:
        db.session.rollback()
        raise _Stop(403, "Inflow cannot open here", str(err)) from None
    record("canvas.launch", account_id=launch.account.id, user_id=launch.user.id, target=launch.org.id,
           ip=_client_ip(), org_id=canvas.org_id, first_launch=launch.first_launch, issued_at=canvas.issued_at)
    db.session.commit()
    return launch, canvas


def _token_for(launch: Launch) -> tuple[str, float]:
    settings = get_settings()
    # A page launched from an org that is not connected (an admin disconnected it) works without it.
    org_id = launch.org.id if launch.org.status == "connected" else None
    return issue_app_token(get_keyring(), account_id=launch.account.id, user_id=launch.user.id,
                           org_connection_id=org_id, region=settings.region,
                           ttl_seconds=settings.app_token_minutes * 60)


@framed_by_salesforce
def error_page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("canvas/error.html", title=title, message=message), status


@bp.post("/canvas")
@framed_by_salesforce
def entry() -> tuple[str, int] | str:
    signed_request = request.form.get("signed_request", "")
    try:
        launch, canvas = _launch(signed_request)
    except _Stop as stop:
        if stop.region:
            return elsewhere_page(stop.region, signed_request)
        return error_page(stop.status, stop.title, stop.message)
    token, expires_at = _token_for(launch)
    instance = launch.org.instance_url
    version = canvas.api_version or get_settings().salesforce_api_version
    allow_sources("script-src", instance)  # Salesforce serves the Canvas SDK from the org itself
    allow_sources("img-src", instance)
    shell = {"token": token, "expires_at": expires_at, "token_url": url_for("canvas.renew"),
             "record_id": _record_id(canvas),
             "client": {key: canvas.client.get(key) for key in ("instanceId", "targetOrigin")},
             "org": {"id": launch.org.id, "org_id": launch.org.org_id, "name": launch.org.name,
                     "status_label": ORG_STATUS_LABELS.get(launch.org.status, launch.org.status)},
             "user": {"first_name": launch.user.first_name, "last_name": launch.user.last_name,
                      "role": launch.user.role, "time_zone": canvas.user.get("timeZone")},
             "region": get_settings().region}
    return render_shell(shell, canvas_scripts=[f"{instance}/canvas/sdk/js/{version}/canvas-all.js",
                                               url_for("static", filename="js/canvas-session.js")])


def _record_id(canvas: CanvasRequest) -> str | None:
    # Lightning (force:canvasApp) leaves environment.record empty and the Aura host passes the record id in
    # parameters; page layouts and Visualforce fill environment.record ({"attributes": ..., "Id": ...}).
    parameters, record = canvas.environment.get("parameters"), canvas.environment.get("record")
    for source in (parameters, record):
        value = source.get("recordId" if source is parameters else "Id") if isinstance(source, dict) else None
        if isinstance(value, str) and value.isalnum() and len(value) in (15, 18):
            return value
    return None


@bp.post("/canvas/token")
def renew() -> tuple[Response, int]:
    """A fresh signed request (from Sfdc.canvas.client.refreshSignedRequest) buys a fresh app token."""
    try:
        launch, _canvas = _launch(request.form.get("signed_request", ""))
    except _Stop as stop:
        body = {"error": "elsewhere", "region": stop.region,
                "url": get_settings().region_urls.get(stop.region, "")} if stop.region else {
            "error": "refused", "message": stop.message}
        return jsonify(body), stop.status
    token, expires_at = _token_for(launch)
    return jsonify(token=token, expires_at=expires_at), 200


@bp.get("/canvas")
@framed_by_salesforce
def approval() -> Response | tuple[str, int]:
    """Salesforce GETs the canvas URL only when the user must first approve the app ("self-authorize")."""
    settings = get_settings()
    if request.args.get("_sfdc_canvas_authvalue") != "user_approval_required":
        try:
            _reject("GET without an approval request")
        except _Stop as stop:
            return error_page(stop.status, stop.title, stop.message)
        return error_page(405, "Open Inflow from Salesforce",
                          "Inflow opens from its tab in Salesforce, which signs each request.")
    try:
        login_url = salesforce_url(request.args.get("loginUrl") or settings.salesforce_login_url, settings)
    except ValueError:
        login_url = salesforce_url(settings.salesforce_login_url, settings)
    # A sealed state instead of a cookie-bound one: the iframe may get no cookies at all.
    state = seal(get_keyring(), APPROVAL, {"login_url": login_url}, APPROVAL_MINUTES * 60)
    url, _state, _verifier = authorization_url(login_url, f"{settings.public_url}/canvas/approved", settings,
                                               state=state, prompt="consent")
    return redirect(url, 302)


@bp.get("/canvas/approved")
@framed_by_salesforce
def approved() -> tuple[str, int] | str:
    """After approval the app asks Salesforce to re-POST the signed request. The code is deliberately
    not exchanged: the signed request that follows carries the tokens, so nothing is stored from here."""
    try:
        state = unseal(get_keyring(), APPROVAL, request.args.get("state", ""))
    except TokenError:
        return error_page(400, "Approval expired", "Open Inflow from its tab in Salesforce again.")
    if request.args.get("error"):
        return error_page(403, "Inflow was not approved",
                          "Inflow needs your approval to open. Reload the tab to be asked again.")
    allow_sources("script-src", state["login_url"])
    sdk = f"{state['login_url']}/canvas/sdk/js/{get_settings().salesforce_api_version}/canvas-all.js"
    return render_template("canvas/approved.html", sdk_url=sdk)


for _view in (entry, renew):
    _view.csrf_exempt = True  # authenticated by Salesforce's HMAC, not by a cookie (and cross-site by design)
