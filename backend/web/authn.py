"""Who is asking: the one place that resolves the current account and user for a request.

Two ways in, never mixed:
- `Authorization: Bearer <app token>`: the canvas iframe (Salesforce half; `_from_bearer`).
- the `__Host-inflow_session` cookie: first-party login (accounts half; `_from_cookie`).
A request that carries an Authorization header is judged by it alone; a bad token is not rescued
by a cookie. Bearer requests are exempt from CSRF checks (browsers never attach them cross-site).

How a view uses it:
    @bp.get("/api/things/<thing_id>")
    @login_required                      # or @admin_required
    def thing(thing_id):
        me = current_identity()          # .account, .user, .scope (TenantScope), .is_admin, .via
        row = me.scope.get(Thing, thing_id)   # another account's id raises NotFound -> 404 + access.denied
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, jsonify, redirect, request
from sqlalchemy import bindparam, select

from backend.extensions import db
from backend.models import Account, OrgConnection, TenantScope, User
from backend.models import NotFound as TenantNotFound
from backend.models.audit import record
from backend.security import revocation, sessions
from backend.security.tokens import AppToken, TokenError, read_app_token
from backend.services import get_keyring, get_redis, get_settings

bp = Blueprint("authn", __name__)  # no routes: registering it installs the access.denied handler


@dataclass(frozen=True)
class Identity:
    account: Account
    user: User | None  # None: an app token acting for a Salesforce user not (yet) an Inflow user
    scope: TenantScope
    via: str  # "bearer" or "cookie"
    session: sessions.Session | None = None  # the cookie session, for CSRF and logout
    org_connection_id: str | None = None  # bearer: the org the canvas page was launched from
    app_token: AppToken | None = None  # bearer: the token's claims, for logout

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role == "admin"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def uses_bearer() -> bool:
    """True when the request authenticates by header (then CSRF does not apply)."""
    return "Authorization" in request.headers


def current_identity() -> Identity | None:
    """The account, user and tenant scope of this request, or None when nobody is signed in."""
    # Cached on the request, not on `g`: `g` belongs to the app context, which tests share across requests.
    if "inflow.identity" not in request.environ:
        request.environ["inflow.identity"] = _from_bearer() if uses_bearer() else _from_cookie()
    return request.environ["inflow.identity"]


# One query for account, user and launch org, built once: every poll of a run's progress comes this way, and
# building the statement cost more CPU than running it (issue 21).
_BEARER_IDENTITY = (
    select(Account, User, select(OrgConnection.status)
           .where(OrgConnection.account_id == bindparam("account_id"),
                  OrgConnection.id == bindparam("org_connection_id")).scalar_subquery())
    .join(User, User.account_id == Account.id)
    .where(Account.id == bindparam("account_id"), User.id == bindparam("user_id")))


def _from_bearer() -> Identity | None:
    """An app token minted by a verified canvas launch (backend/web/canvas.py), still valid here."""
    token = bearer_token()
    if token is None:
        return None
    settings = get_settings()
    try:
        claims = read_app_token(get_keyring(), token)
    except TokenError:
        return None
    if claims.region != settings.region:
        return None  # sealed under a shared keyring in another region: its data is not here
    if revocation.is_ended(get_redis(), claims):
        return None  # logged out, or its launch org disconnected
    scope = TenantScope(claims.account_id)
    found = db.session.execute(_BEARER_IDENTITY, {"account_id": scope.account_id, "user_id": claims.user_id,
                                                  "org_connection_id": claims.org_connection_id}).first()
    if found is None:
        return None
    account, user, status = found
    if account.region != settings.region:
        return None
    # Disconnecting the launch org ends the page's session: a replayed token is refused.
    if claims.org_connection_id is not None and status != "connected":
        return None
    return Identity(account, user, scope, "bearer", org_connection_id=claims.org_connection_id, app_token=claims)


def _from_cookie() -> Identity | None:
    token = request.cookies.get(sessions.COOKIE_NAME)
    session = sessions.load(get_redis(), get_settings(), token) if token else None
    if session is None:
        return None
    user = db.session.get(User, session.user_id)
    if user is None or user.account_id != session.account_id:
        sessions.destroy(get_redis(), token)
        return None
    account = db.session.get(Account, user.account_id)
    if account is None:
        return None
    return Identity(account, user, TenantScope(account.id), "cookie", session)


def _wants_html() -> bool:
    return (request.method == "GET" and not request.path.startswith("/api/") and not uses_bearer()
            and request.accept_mimetypes.accept_html)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """401 for API calls; HTML pages send the browser to the login page instead."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_identity() is None:
            if _wants_html():
                return redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))
            abort(401)
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed in as an admin of the account, or 403."""

    @login_required
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_identity().is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.app_errorhandler(TenantNotFound)
def not_found_in_tenant(error: TenantNotFound) -> tuple[Response, int]:
    """TenantScope.get found no row for this account: missing and someone else's look alike (404), and
    both are audited, so probing other tenants' ids leaves a trace (checklist item 6)."""
    db.session.rollback()
    identity = request.environ.get("inflow.identity")  # cached there by current_identity()
    record("access.denied", account_id=identity.account.id if identity else None,
           user_id=identity.user.id if identity and identity.user else None, target=request.path[:255],
           ip=request.remote_addr or "", method=request.method)
    db.session.commit()
    return jsonify(error="not_found", message="Not found."), 404
