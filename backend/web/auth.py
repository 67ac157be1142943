"""First-party sign-in: log in, log out, forgotten password; shared helpers for the account pages."""

from __future__ import annotations

import re

from flask import Blueprint, Response, make_response, redirect, render_template, request
from sqlalchemy import select

from backend.extensions import db
from backend.models import User
from backend.models.audit import record
from backend.security import email_tokens, passwords, ratelimit, revocation, sessions
from backend.services import get_redis, get_settings
from backend.web import account_mail, csrf
from backend.web.authn import current_identity, login_required

bp = Blueprint("auth", __name__)
bp.before_app_request(csrf.protect)
bp.after_app_request(csrf.set_anonymous_cookie)

LOCKED = "Too many attempts. Wait 15 minutes and try again, or reset your password."
WRONG = "Email or password is wrong."


@bp.app_context_processor
def _template_helpers() -> dict:
    return {"csrf_token": csrf.csrf_token, "csrf_field": csrf.FIELD}


@bp.after_request
def _no_store(response: Response) -> Response:
    # Pages with tokens in their URL or forms: never cached, never leaked through Referer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def client_ip() -> str:
    return request.remote_addr or ""


def normalize_email(value: str | None) -> str:
    return (value or "").strip().lower()[:320]


_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def valid_email(email: str) -> bool:
    """A plausible address (no whitespace or line breaks: it goes into a mail header)."""
    return len(email) <= 254 and _EMAIL.fullmatch(email) is not None


def find_user(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == email)).first() if email else None


def audit(action: str, user: User | None = None, *, account_id: str | None = None, **details) -> None:
    record(action, account_id=account_id or (user.account_id if user else None),
           user_id=user.id if user else None, ip=client_ip(), **details)


def safe_next(target: str | None, default: str = "/settings") -> str:
    """Only same-site paths: never `//host` or `/\\host`, which browsers treat as another site."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return default


def start_session(user: User, target: str) -> Response:
    """A fresh session id on every login, and the old one (if any) ended."""
    sessions.destroy(get_redis(), request.cookies.get(sessions.COOKIE_NAME))
    token, _ = sessions.create(get_redis(), get_settings(), user.id, user.account_id)
    response = redirect(safe_next(target), 303)
    sessions.set_cookie(response, token, get_settings())
    return response


@bp.get("/login")
def login_form():
    return render_template("auth/login.html", next=safe_next(request.args.get("next")))


@bp.post("/login")
@csrf.anonymous_form
def login():
    email, ip = normalize_email(request.form.get("email")), client_ip()
    password = request.form.get("password", "")
    conn = get_redis()
    if ratelimit.exceeded(conn, ratelimit.LOGIN_FAILURES_PER_EMAIL, email) or \
            ratelimit.exceeded(conn, ratelimit.LOGIN_FAILURES_PER_IP, ip):
        audit("login.locked", find_user(email))
        db.session.commit()
        return _login_error(LOCKED, 429)
    user = find_user(email)
    ok, new_hash = passwords.verify_and_upgrade(user.password_hash if user else None, password)
    if not ok:
        ratelimit.hit(conn, ratelimit.LOGIN_FAILURES_PER_EMAIL, email)
        ratelimit.hit(conn, ratelimit.LOGIN_FAILURES_PER_IP, ip)
        audit("login.failed", user)
        db.session.commit()
        return _login_error(WRONG, 401)
    if not user.email_verified:
        account_mail.send_verification(user)
        db.session.commit()
        return _login_error("Confirm your email address first: we sent you a new link.", 403)
    ratelimit.reset(conn, ratelimit.LOGIN_FAILURES_PER_EMAIL, email)
    if new_hash:
        user.password_hash = new_hash
    audit("login", user, method="password", rehashed=bool(new_hash))
    db.session.commit()
    return start_session(user, request.form.get("next"))


def _login_error(message: str, status: int) -> tuple[str, int]:
    return render_template("auth/login.html", error=message, next=safe_next(request.form.get("next")),
                           email=request.form.get("email", "")[:320]), status


@bp.post("/logout")
@login_required
def logout():
    """Ends the cookie session, or from the canvas page (Bearer) its app token; either way every app token
    of the user issued so far, so a token copied elsewhere dies too."""
    identity = current_identity()
    conn = get_redis()
    if identity.app_token is not None:
        revocation.revoke(conn, identity.app_token)
    else:
        sessions.destroy(conn, request.cookies.get(sessions.COOKIE_NAME))
    if identity.user is not None:
        revocation.end_user_tokens(conn, identity.user.id, get_settings().app_token_minutes * 60)
    audit("logout", identity.user, via=identity.via)
    db.session.commit()
    if identity.via == "bearer":
        return "", 204
    response = make_response(redirect("/login", 303))
    sessions.clear_cookie(response)
    return response


@bp.get("/password/forgot")
def forgot_form():
    return render_template("auth/forgot.html")


@bp.post("/password/forgot")
@csrf.anonymous_form
def forgot():
    email, ip = normalize_email(request.form.get("email")), client_ip()
    conn = get_redis()
    within_ip = ratelimit.hit(conn, ratelimit.RESETS_PER_IP, ip)
    within = ratelimit.hit(conn, ratelimit.RESETS_PER_EMAIL, email) and within_ip
    user = find_user(email) if within else None
    if user is not None:
        account_mail.send_reset(user)
        audit("password.reset_requested", user)
        db.session.commit()
    # The same page whether or not the address has an account, and whether or not we were rate limited.
    return render_template("auth/forgot.html", sent=True)


@bp.get("/password/reset")
def reset_form():
    return _set_password_form("reset")


@bp.post("/password/reset")
@csrf.anonymous_form
def reset():
    return _set_password("reset")


@bp.get("/invite/accept")
def invite_form():
    return _set_password_form("invite")


@bp.post("/invite/accept")
@csrf.anonymous_form
def accept_invite():
    return _set_password("invite")


_ACTIONS = {"reset": "/password/reset", "invite": "/invite/accept"}


def _set_password_form(purpose: str, error: str | None = None, status: int = 200):
    token = request.values.get("token", "")
    valid = email_tokens.peek(token, purpose) is not None
    return render_template("auth/set_password.html", valid=valid, token=token, purpose=purpose,
                           action=_ACTIONS[purpose], error=error), status


def _set_password(purpose: str):
    """Reset and invitation both end here: a mailed single-use token proves the mailbox."""
    password = request.form.get("password", "")
    try:
        passwords.check_policy(password)
    except passwords.WeakPassword as exc:
        return _set_password_form(purpose, str(exc), 400)
    user = email_tokens.consume(request.form.get("token", ""), purpose)
    if user is None:
        return _set_password_form(purpose, "This link has expired or was already used.", 400)
    user.password_hash = passwords.hash_password(password)
    user.email_verified = True
    sessions.destroy_all_for_user(get_redis(), user.id)
    ratelimit.reset(get_redis(), ratelimit.LOGIN_FAILURES_PER_EMAIL, user.email)
    audit("password.reset" if purpose == "reset" else "invite.accepted", user)
    db.session.commit()
    return start_session(user, "/settings")
