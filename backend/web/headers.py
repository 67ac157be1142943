"""Security headers on every response: CSP (framing only by Salesforce, and only canvas pages), HSTS, no-store."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, request

from backend.services import get_settings

HSTS = "max-age=31536000; includeSubDomains"  # ASVS 3.4.1: at least one year
bp = Blueprint("security_headers", __name__)  # no routes: registering it installs the hook app-wide
# Per-request marks live in request.environ, not `g`: `g` is the app context's, which can span requests.


def framed_by_salesforce(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose HTML is shown inside the Salesforce canvas iframe; every other page refuses framing."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        request.environ["inflow.frameable"] = True
        return view(*args, **kwargs)

    return wrapper


def allow_sources(directive: str, *origins: str) -> None:
    """Add origins to one CSP directive for this response (e.g. the org's host serving the Canvas SDK)."""
    extra = request.environ.setdefault("inflow.csp_extra", {})
    extra.setdefault(directive, [])
    extra[directive].extend(o for o in origins if o and o not in extra[directive])


def content_security_policy(frame_ancestors: str) -> str:
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": [frame_ancestors],
    }
    for directive, origins in request.environ.get("inflow.csp_extra", {}).items():
        directives.setdefault(directive, []).extend(origins)
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


@bp.after_app_request
def apply_security_headers(response: Response) -> Response:
    settings = get_settings()
    frameable = bool(request.environ.get("inflow.frameable")) and response.mimetype == "text/html"
    ancestors = " ".join(settings.canvas_frame_ancestors) if frameable else "'none'"
    response.headers["Content-Security-Policy"] = content_security_policy(ancestors)
    if frameable:
        # X-Frame-Options cannot list several origins; any value would break the canvas frame.
        response.headers.pop("X-Frame-Options", None)
    else:
        response.headers["X-Frame-Options"] = "DENY"
    response.headers["Strict-Transport-Security"] = HSTS
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if not request.path.startswith("/static/"):
        # API answers and pages carry tenant data or tokens: never cached by the browser or a proxy.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response
