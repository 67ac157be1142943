"""Sign-up: a new account in this region with its first user as admin, confirmed by email.

Confirming asks for the password chosen at sign-up: whoever signed up with someone else's address cannot
have the owner confirm it for them by clicking the link (account pre-hijacking).
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request

from backend.extensions import db
from backend.models import Account, User
from backend.security import email_tokens, passwords, ratelimit
from backend.services import get_redis, get_settings
from backend.settings import REGIONS
from backend.web import account_mail, csrf
from backend.web.auth import audit, client_ip, find_user, normalize_email, start_session, valid_email

bp = Blueprint("signup", __name__)

REGION_NAMES = {"eu-frankfurt": "Europe (Frankfurt)", "us-dallas": "United States (Dallas)",
                "au-sydney": "Australia (Sydney)"}
FIELDS = ("first_name", "last_name", "email", "company", "country", "region")


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _form(errors: dict[str, str] | None = None, status: int = 200):
    values = {k: request.form.get(k, "")[:320] for k in FIELDS} if request.method == "POST" else {}
    values.setdefault("region", get_settings().region)
    return render_template("auth/signup.html", values=values, errors=errors or {}, regions=REGION_NAMES), status


@bp.get("/signup")
def signup_form():
    return _form()


def _validate(form) -> dict[str, str]:
    errors = {}
    for name, limit in (("first_name", 80), ("last_name", 80), ("company", 255)):
        value = form.get(name, "")
        if not value.strip() or len(value) > limit or account_mail.has_control_characters(value):
            errors[name] = f"Enter 1 to {limit} characters on one line."
    if not valid_email(normalize_email(form.get("email"))):
        errors["email"] = "Enter an email address."
    country = form.get("country", "").strip()
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        errors["country"] = "Choose a country (two-letter code)."
    try:
        passwords.check_policy(form.get("password", ""))
    except passwords.WeakPassword as exc:
        errors["password"] = str(exc)
    return errors


@bp.post("/signup")
@csrf.anonymous_form
def signup():
    settings = get_settings()
    region = request.form.get("region", "")
    if region not in REGIONS:
        return _form({"region": "Choose a region."}, 400)
    if region != settings.region:
        # The account must live in its region: send the browser there and store nothing here.
        target = settings.region_urls.get(region)
        if not target:
            return _form({"region": "That region is not available yet."}, 400)
        return redirect(f"{target}/signup?region={region}", 303)
    errors = _validate(request.form)
    if errors:
        return _form(errors, 400)
    if not ratelimit.hit(get_redis(), ratelimit.SIGNUPS_PER_IP, client_ip()):
        return _form({"form": "Too many sign-ups from your network. Try again later."}, 429)
    # Hash first, whether or not the email is taken, so both paths cost the same time.
    password_hash = passwords.hash_password(request.form["password"])
    email = normalize_email(request.form["email"])
    existing = find_user(email)
    if existing is not None:
        _tell_existing_user(existing)
    else:
        _create_account(email, password_hash)
    return render_template("auth/check_email.html"), 200


def _create_account(email: str, password_hash: str) -> None:
    form = request.form
    account = Account(company=form["company"].strip(), country=form["country"].strip().upper(),
                      region=get_settings().region)
    db.session.add(account)
    db.session.flush()
    user = User(account_id=account.id, email=email, first_name=form["first_name"].strip(),
                last_name=form["last_name"].strip(), password_hash=password_hash, role="admin")
    db.session.add(user)
    db.session.flush()
    account_mail.send_verification(user)
    audit("signup", user)
    db.session.commit()


def _tell_existing_user(user: User) -> None:
    # The page says "check your email" either way; only the mailbox owner learns the address is taken.
    audit("signup.existing_email", user)
    db.session.commit()
    account_mail.send_already_registered(user)


@bp.get("/verify")
def verify_form():
    token = request.args.get("token", "")
    valid = email_tokens.peek(token, "verify") is not None
    return render_template("auth/verify.html", valid=valid, token=token)


@bp.post("/verify")
@csrf.anonymous_form
def verify():
    token, ip = request.form.get("token", ""), client_ip()
    user = email_tokens.peek(token, "verify")
    conn = get_redis()
    if user is None or ratelimit.exceeded(conn, ratelimit.LOGIN_FAILURES_PER_EMAIL, user.email):
        return render_template("auth/verify.html", valid=False, token=token or "-"), 400
    if not passwords.verify(user.password_hash, request.form.get("password", "")):
        ratelimit.hit(conn, ratelimit.LOGIN_FAILURES_PER_EMAIL, user.email)
        ratelimit.hit(conn, ratelimit.LOGIN_FAILURES_PER_IP, ip)
        audit("email.verify_failed", user)
        db.session.commit()
        return render_template("auth/verify.html", valid=True, token=token,
                               error="That is not the password chosen at sign-up."), 400
    if email_tokens.consume(token, "verify") is None:
        return render_template("auth/verify.html", valid=False, token=token or "-"), 400
    user.email_verified = True
    audit("email.verified", user)
    db.session.commit()
    return start_session(user, "/settings")
