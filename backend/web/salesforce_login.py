""""Log in with Salesforce": the OAuth web-server flow (PKCE, browser-bound state) used only to learn who
the user is. The tokens Salesforce hands over are revoked at once: logging in stores no Salesforce access.

A Salesforce user logs in to the Inflow user linked to them (User.salesforce_user_id, set when they opened
Inflow from Salesforce) in an account tied to the same org (Account.salesforce_org_id or a connected instance).

The same flow re-authenticates before a destructive action (backend/web/reauth.py): then it must come back
with the signed-in user's own Salesforce user and org, and it records a proof instead of starting a session.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from flask import Blueprint, Response, make_response, render_template, request
from sqlalchemy import select

from backend.extensions import db
from backend.models import Account, OrgConnection, User
from backend.salesforce import oauth
from backend.security.tokens import TokenError, seal, unseal
from backend.services import get_keyring, get_settings
from backend.web import csrf, reauth
from backend.web.auth import audit, safe_next, start_session
from backend.web.authn import current_identity

bp = Blueprint("salesforce_login", __name__)

CALLBACK_PATH = "/login/salesforce/callback"
FLOW = "salesforce-login"
FLOW_COOKIE = "__Host-inflow_sflogin"
FLOW_SECONDS = 600


@bp.post("/login/salesforce")
@csrf.anonymous_form
def start() -> Response | tuple[str, int]:
    settings = get_settings()
    try:
        login_url = oauth.login_url_for("mydomain" if request.form.get("my_domain") else "production",
                                        request.form.get("my_domain"), settings)
    except ValueError as err:
        return render_template("auth/login.html", error=str(err), next="/settings"), 400
    return _to_salesforce(login_url, {"next": safe_next(request.form.get("next"))})


@bp.post(reauth.START_PATH)
def reauth_start() -> Response | tuple[str, int]:
    """Start a fresh Salesforce login proving who is about to do something destructive. The canvas page
    POSTs a ticket from /api/reauth/salesforce into the popup; a signed-in settings page posts without one
    (its cookie session, CSRF-checked app-wide)."""
    claims = reauth.take_ticket(request.form.get("ticket", ""))
    me = current_identity()
    if claims is None and "ticket" not in request.form and me is not None and me.session is not None \
            and "salesforce" in reauth.methods(me.user):
        claims = reauth.claims_for(me)
    user = db.session.get(User, claims["user_id"]) if claims else None
    if user is None:
        return _reauth_done(400, "This link has expired", "Go back to Inflow and try again.")
    try:
        login_url = reauth.login_url(user)
    except ValueError as err:
        return _reauth_done(400, "Cannot confirm with Salesforce", str(err))
    # A page that moves on by itself rather than a redirect: the form that opened this window was posted
    # under CSP form-action 'self', which browsers also apply to where a redirect leads.
    return _to_salesforce(login_url, {"next": "/settings", "reauth": claims},
                          lambda url: make_response(render_template("auth/reauth_start.html", url=url), 200))


def _to_salesforce(login_url: str, claims: dict, page: Callable[[str], Response] | None = None) -> Response:
    settings = get_settings()
    url, state, verifier = oauth.authorization_url(login_url, settings.public_url + CALLBACK_PATH, settings,
                                                   prompt="login")
    claims = {**claims, "state": state, "verifier": verifier, "login_url": login_url}
    if page is not None:
        response = page(url)
    else:
        response = make_response("", 303)
        response.headers["Location"] = url
    # Lax: the callback is a top-level GET redirect from Salesforce, which Lax cookies accompany.
    response.set_cookie(FLOW_COOKIE, seal(get_keyring(), FLOW, claims, FLOW_SECONDS), max_age=FLOW_SECONDS,
                        path="/", secure=True, httponly=True, samesite="Lax")
    return response


@bp.get(CALLBACK_PATH)
def callback() -> Response | tuple[str, int]:
    """OAuth's redirect back is a GET by protocol; the sealed, browser-bound state and PKCE are what stop
    a forged request here (a callback not started by this browser fails before anything is written)."""
    try:
        flow = unseal(get_keyring(), FLOW, request.cookies.get(FLOW_COOKIE, ""))
    except TokenError:
        flow = None
    if flow is None or not hmac.compare_digest(flow["state"].encode(), request.args.get("state", "").encode()):
        return _fail("This sign-in did not start here or took too long. Try again.")
    if request.args.get("error"):
        return _fail("Salesforce did not confirm who you are.")
    settings = get_settings()
    try:
        grant = oauth.exchange_code(flow["login_url"], settings.public_url + CALLBACK_PATH,
                                    request.args.get("code", ""), flow["verifier"], settings)
    except oauth.OAuthFlowError as err:
        return _fail(str(err))
    # We needed the identity only: revoke the token (its refresh token too) right away.
    oauth.revoke(grant.instance_url, grant.refresh_token or grant.access_token)
    if "reauth" in flow:
        return _forget_flow(_reauthenticated(flow["reauth"], grant))
    user = linked_user(grant.org_id, grant.user_id)
    if user is None:
        audit("login.rejected", method="salesforce")
        db.session.commit()
        return _fail("No Inflow user is linked to this Salesforce user. Open Inflow from Salesforce once, "
                     "or ask your Inflow admin to invite you.")
    audit("login", user, method="salesforce")
    db.session.commit()
    return _forget_flow(start_session(user, flow["next"]))


def _reauthenticated(claims: dict, grant: oauth.TokenGrant) -> Response:
    user = db.session.get(User, claims["user_id"])
    if user is None or user.account_id != claims["account_id"] or \
            not reauth.same_salesforce_user(user, grant.org_id, grant.user_id):
        audit("auth.reauth_failed", user, method="salesforce")
        db.session.commit()
        return _reauth_done(403, "Not confirmed", "You signed in to Salesforce as another user or org. "
                            "Sign in as yourself to continue.")
    reauth.remember(claims["subject"], user, "salesforce")
    db.session.commit()
    return _reauth_done(200, "Confirmed", f"Go back to Inflow within {reauth.FRESH_SECONDS // 60} minutes "
                        "to continue.", confirmed=True)


def _reauth_done(status: int, title: str, message: str, confirmed: bool = False) -> Response:
    return make_response(render_template("auth/reauth_done.html", title=title, message=message,
                                         confirmed=confirmed), status)


def _forget_flow(response: Response) -> Response:
    response.delete_cookie(FLOW_COOKIE, path="/", secure=True, httponly=True, samesite="Lax")
    return response


def linked_user(org_id: str, sf_user_id: str) -> User | None:
    """The Inflow user for a Salesforce org and user. Salesforce ids are compared on their 15-character,
    case-sensitive form in Python (SQLite's LIKE ignores case)."""
    prefix = sf_user_id[:15]
    for user in db.session.scalars(select(User).where(User.salesforce_user_id.like(prefix + "%"))):
        if (user.salesforce_user_id or "")[:15] == prefix and _account_has_org(user.account_id, org_id):
            return user
    return None


def _account_has_org(account_id: str, org_id: str) -> bool:
    account = db.session.get(Account, account_id)
    orgs = set(db.session.scalars(select(OrgConnection.org_id).where(OrgConnection.account_id == account_id)))
    orgs.add(account.salesforce_org_id or "" if account else "")
    return any(o and o[:15] == org_id[:15] for o in orgs)


def _fail(message: str) -> Response:
    body = render_template("auth/login.html", error=message, next="/settings")
    response = make_response(body, 400)
    response.delete_cookie(FLOW_COOKIE, path="/", secure=True, httponly=True, samesite="Lax")
    return response
