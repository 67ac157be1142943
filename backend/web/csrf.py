"""CSRF protection for cookie-authenticated requests (synchronizer token) and for anonymous forms.

- A request with an Authorization header is exempt: browsers never attach it cross-site.
- A request carrying our session cookie must send the session's token (form field `csrf_token`
  or header `X-CSRF-Token`) on every unsafe method, whatever the endpoint, unless marked @csrf_exempt
  (endpoints authenticated by their own signature: canvas signed request, Stripe webhooks).
- Anonymous forms that matter (login, sign-up, password reset) opt in with `@anonymous_form`:
  a double-submit token in a `__Host-` cookie, so an attacker cannot log a victim into their account.
"""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any

from flask import Response, abort, current_app, request

from backend.security import sessions
from backend.web.authn import current_identity, uses_bearer

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
ANON_COOKIE = "__Host-inflow_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

log = logging.getLogger(__name__)


def csrf_exempt(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that authenticates every request by its own signature, not by our cookie."""
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def csrf_token() -> str:
    """The token to put into forms: the session's, or an anonymous double-submit token."""
    identity = current_identity()
    if identity is not None and identity.session is not None:
        return identity.session.csrf_token
    if "inflow.anon_csrf" not in request.environ:
        request.environ["inflow.anon_csrf"] = request.cookies.get(ANON_COOKIE) or secrets.token_urlsafe(32)
    return request.environ["inflow.anon_csrf"]


def _sent_token() -> str:
    return request.form.get(FIELD) or request.headers.get(HEADER) or ""


def _reject(reason: str) -> None:
    log.warning("csrf check failed on %s %s: %s", request.method, request.path, reason)
    abort(403, description="The form expired or did not come from Inflow. Reload the page and try again.")


def protect() -> None:
    """before_request for the whole app: cookie-authenticated unsafe requests need the session token."""
    if request.method in SAFE_METHODS or uses_bearer():
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "csrf_exempt", False) or sessions.COOKIE_NAME not in request.cookies:
        return
    identity = current_identity()
    if identity is None or identity.session is None:
        return  # a stale cookie authenticates nothing; login_required answers 401
    if not hmac.compare_digest(_sent_token().encode(), identity.session.csrf_token.encode()):
        _reject("token missing or not this session's")


def anonymous_form(view: Callable[..., Any]) -> Callable[..., Any]:
    """For forms posted before sign-in: the double-submit cookie must match the form field."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _check_anonymous()
        return view(*args, **kwargs)

    return wrapped


def _check_anonymous() -> None:
    identity = current_identity()
    if identity is not None and identity.session is not None:
        return  # already checked against the session token by protect()
    expected = request.cookies.get(ANON_COOKIE, "")
    if not expected or not hmac.compare_digest(_sent_token().encode(), expected.encode()):
        _reject("anonymous token missing or mismatched")


def set_anonymous_cookie(response: Response) -> Response:
    """after_request: hand out the double-submit cookie when a page rendered a fresh anonymous token."""
    token = request.environ.get("inflow.anon_csrf")
    if token and request.cookies.get(ANON_COOKIE) != token:
        response.set_cookie(ANON_COOKIE, token, path="/", secure=True, httponly=True, samesite="Lax")
    return response
