"""Who is asking: the one place that resolves the current account and user for a request.

Two ways in, never mixed:
- `Authorization: Bearer <app token>`: the canvas iframe (Salesforce half; `_from_bearer`).
- the `__Host-inflow_session` cookie: first-party login (accounts half; `_from_cookie`).
A request that carries an Authorization header is judged by it alone; a bad token is not rescued
by a cookie. Bearer requests are exempt from CSRF checks (browsers never attach them cross-site).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import abort, g, redirect, request

from backend.extensions import db
from backend.models import Account, TenantScope, User
from backend.security import sessions
from backend.web.context import get_redis, get_settings


@dataclass(frozen=True)
class Identity:
    account: Account
    user: User | None  # None: an app token acting for a Salesforce user not (yet) an Inflow user
    scope: TenantScope
    via: str  # "bearer" or "cookie"
    session: sessions.Session | None = None  # the cookie session, for CSRF and logout

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
    if "inflow_identity" not in g:
        g.inflow_identity = _from_bearer() if uses_bearer() else _from_cookie()
    return g.inflow_identity


def _from_bearer() -> Identity | None:
    # The Salesforce half verifies app tokens here (backend/security/tokens.py).
    return None


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
