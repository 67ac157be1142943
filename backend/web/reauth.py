"""Re-authentication before destructive actions: a fresh proof of identity, at most five minutes old.

Deleting the account and disconnecting an org ask for more than a live session: a session or app token
can be stolen or left open on a shared screen. The proof is a password where the user has one, otherwise
a fresh Salesforce login (`prompt=login`, the same Salesforce user and org; salesforce_login.py). The
server records when it was given, in Redis under the one sign-in that gave it (the cookie session, or
the one app token), so another browser or token of the same user gains nothing, and no client-supplied
time is ever read.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from backend.extensions import db
from backend.models import Account, OrgConnection, User
from backend.salesforce import oauth
from backend.security import passwords, ratelimit
from backend.services import get_redis, get_settings
from backend.web.auth import audit
from backend.web.authn import Identity, bearer_token, current_identity, login_required

bp = Blueprint("reauth", __name__)

FRESH_SECONDS = 300
TICKET_SECONDS = 120
PASSWORD_URL = "/api/reauth/password"
SALESFORCE_URL = "/api/reauth/salesforce"
START_PATH = "/reauth/salesforce/start"
_PROOF = "inflow:reauth:{}"
_TICKET = "inflow:reauth-ticket:{}"


def subject(identity: Identity) -> str:
    """The sign-in a proof belongs to, hashed: a Redis dump hands out no session id or token."""
    if identity.session is not None:
        return hashlib.sha256(b"session:" + identity.session.key.encode()).hexdigest()
    return hashlib.sha256(b"token:" + (bearer_token() or "").encode()).hexdigest()


def methods(user: User | None) -> list[str]:
    if user is None:
        return []
    if user.password_hash:
        return ["password"]
    return ["salesforce"] if user.salesforce_user_id else []


def remember(subject_key: str, user: User, method: str) -> None:
    """Record a proof just given (the caller commits the audit event)."""
    value = json.dumps({"user_id": user.id, "at": time.time(), "method": method})
    get_redis().set(_PROOF.format(subject_key), value, ex=FRESH_SECONDS)
    audit("auth.reauthenticated", user, method=method)


def is_fresh(identity: Identity) -> bool:
    raw = get_redis().get(_PROOF.format(subject(identity)))
    if raw is None or identity.user is None:
        return False
    proof = json.loads(raw)
    return proof["user_id"] == identity.user.id and time.time() - float(proof["at"]) <= FRESH_SECONDS


def check_password(identity: Identity, password: str) -> bool:
    """Verify the user's password and record the proof. Failures count toward the login lockout, so a
    stolen session cannot be used to guess the password faster than the login form allows."""
    user, conn = identity.user, get_redis()
    if user is None or not user.password_hash or not password:
        return False
    if ratelimit.exceeded(conn, ratelimit.LOGIN_FAILURES_PER_EMAIL, user.email):
        return False
    if not passwords.verify(user.password_hash, password):
        ratelimit.hit(conn, ratelimit.LOGIN_FAILURES_PER_EMAIL, user.email)
        audit("auth.reauth_failed", user, method="password")
        db.session.commit()
        return False
    remember(subject(identity), user, "password")
    db.session.commit()
    return True


def _sent_password() -> str:
    body = request.get_json(silent=True) if request.is_json else None
    value = body.get("password") if isinstance(body, dict) else request.form.get("password")
    return value if isinstance(value, str) else ""


def refusal(identity: Identity, html: Callable[[], Response | tuple] | None = None) -> Response | tuple | None:
    """None when the request may go ahead: a fresh proof exists, or the request carries the user's password.
    Otherwise a 403 saying how to prove it (`html` renders it for a browser form)."""
    if is_fresh(identity) or check_password(identity, _sent_password()):
        return None
    # A browser form gets a page back; an API call (or a client asking for JSON) gets JSON.
    accept = request.accept_mimetypes
    if html is not None and not request.is_json and accept["application/json"] <= accept["text/html"]:
        return html()
    ways = methods(identity.user)
    url = {"password": PASSWORD_URL, "salesforce": SALESFORCE_URL}.get(ways[0]) if ways else None
    return jsonify(error="reauth_required", methods=ways, url=url, fresh_for=FRESH_SECONDS,
                   message="Confirm it is you to continue."), 403


@bp.post(PASSWORD_URL)
@login_required
def password() -> tuple[Response, int]:
    me = current_identity()
    if "password" not in methods(me.user):
        return jsonify(error="method_not_available", methods=methods(me.user)), 400
    if not check_password(me, _sent_password()):
        return jsonify(error="wrong_password", message="That password is not right."), 403
    return jsonify(ok=True, fresh_for=FRESH_SECONDS), 200


@bp.post(SALESFORCE_URL)
@login_required
def salesforce_ticket() -> tuple[Response, int]:
    """A single-use ticket the page POSTs to the popup: the app token never enters a URL or a popup."""
    me = current_identity()
    if "salesforce" not in methods(me.user):
        return jsonify(error="method_not_available", methods=methods(me.user)), 400
    ticket = secrets.token_urlsafe(32)
    claims = {"user_id": me.user.id, "account_id": me.account.id, "subject": subject(me)}
    get_redis().set(_TICKET.format(hashlib.sha256(ticket.encode()).hexdigest()), json.dumps(claims),
                    ex=TICKET_SECONDS)
    return jsonify(ticket=ticket, start_url=START_PATH, expires_in=TICKET_SECONDS), 201


def take_ticket(ticket: str) -> dict | None:
    if not ticket:
        return None
    raw = get_redis().getdel(_TICKET.format(hashlib.sha256(ticket.encode()).hexdigest()))
    return json.loads(raw) if raw else None


def claims_for(identity: Identity) -> dict:
    """What a Salesforce re-authentication started from a signed-in browser page must prove."""
    return {"user_id": identity.user.id, "account_id": identity.account.id, "subject": subject(identity)}


def login_url(user: User) -> str:
    """Where the user signs in again: their org's own login host, else the configured production one."""
    settings = get_settings()
    account = db.session.get(Account, user.account_id)
    org = db.session.scalars(select(OrgConnection).where(
        OrgConnection.account_id == user.account_id,
        OrgConnection.org_id == (account.salesforce_org_id if account else None))).first()
    return oauth.salesforce_url((org.login_url or org.instance_url) if org else settings.salesforce_login_url,
                                settings)


def same_salesforce_user(user: User, org_id: str, sf_user_id: str) -> bool:
    """The fresh login is the user's own Salesforce user in the account's org (15-character ids compared,
    case-sensitive: Salesforce ids differ by case)."""
    account = db.session.get(Account, user.account_id)
    return bool(user.salesforce_user_id and account and account.salesforce_org_id
                and user.salesforce_user_id[:15] == sf_user_id[:15]
                and account.salesforce_org_id[:15] == org_id[:15])
