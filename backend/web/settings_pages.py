"""Account settings: retention (admins, audited), region (read-only), users, and invitations."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request

from backend.extensions import db
from backend.mail import MailError
from backend.models import User
from backend.models.accounts import ROLES
from backend.security import ratelimit
from backend.services import get_redis
from backend.web import account_mail
from backend.web.auth import audit, find_user, normalize_email, valid_email
from backend.web.authn import admin_required, current_identity, login_required
from backend.web.signup import REGION_NAMES

bp = Blueprint("settings_pages", __name__)

RETENTION_MAX_DAYS = 30


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def settings_page(status: int = 200, **messages: str):
    identity = current_identity()
    users = identity.scope.all(User, order_by=User.created_at)
    return render_template("settings/index.html", account=identity.account, me=identity.user,
                           is_admin=identity.is_admin, users=users,
                           region_name=REGION_NAMES.get(identity.account.region, identity.account.region),
                           retention_max=RETENTION_MAX_DAYS, **messages), status


@bp.get("/settings")
@login_required
def index():
    return settings_page()


@bp.post("/settings/retention")
@admin_required
def retention():
    identity = current_identity()
    raw = request.form.get("retention_days", "").strip()
    if not raw.isdigit() or not 0 <= int(raw) <= RETENTION_MAX_DAYS:
        return settings_page(400, retention_error=f"Choose whole days from 0 to {RETENTION_MAX_DAYS}.")
    old, new = identity.account.retention_days, int(raw)
    if old != new:
        identity.account.retention_days = new  # only this field: nothing else in the form is read
        audit("retention.changed", identity.user, old_days=old, new_days=new)
        db.session.commit()
    return redirect("/settings", 303)


@bp.post("/settings/invite")
@admin_required
def invite():
    identity = current_identity()
    email, role = normalize_email(request.form.get("email")), request.form.get("role", "user")
    if not valid_email(email) or role not in ROLES:
        return settings_page(400, invite_error="Enter an email address and choose a role.")
    if not ratelimit.hit(get_redis(), ratelimit.INVITES_PER_ACCOUNT, identity.account.id):
        return settings_page(429, invite_error="Too many invitations today. Try again tomorrow.")
    existing = find_user(email)
    if existing is not None and existing.account_id == identity.account.id:
        return settings_page(400, invite_error="That person is already a user of this account.")
    try:
        if existing is None:
            _invite_new_user(identity, email, role)
        else:
            # One account per email. Answer as for a new address: an admin must not learn, by inviting,
            # which addresses have accounts elsewhere. The owner of the address is told.
            account_mail.send_invitation_to_taken_address(identity.user, email)
            audit("user.invite_existing_email", identity.user)
    except MailError:
        db.session.rollback()
        return settings_page(503, invite_error="The invitation could not be sent. Try again in a few minutes.")
    db.session.commit()
    return settings_page(200, invite_sent=email)


def _invite_new_user(identity, email: str, role: str) -> None:
    """Mail first, commit after: when the mail cannot go out, no half-invited user is left behind."""
    first, last = (account_mail.one_line(request.form.get(k, "")) for k in ("first_name", "last_name"))
    user = identity.scope.add(User(email=email, role=role, first_name=first, last_name=last))
    db.session.flush()
    account_mail.send_invitation(identity.user, identity.account, user)
    audit("user.invited", identity.user, target=user.id, role=role)
