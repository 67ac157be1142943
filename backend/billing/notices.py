"""Telling an account's admins that a payment failed: how long the plan holds, and what happens after."""

from __future__ import annotations

from sqlalchemy import select

from backend.billing.plans import FREE, billing_record, grace_ends, plan_for
from backend.extensions import db
from backend.mail import send_later
from backend.models.accounts import User
from backend.services import get_settings


def payment_failed_text(account_id: str) -> str | None:
    """The banner's words while a payment is failing and the plan still holds; None otherwise."""
    billing = billing_record(account_id)
    ends = grace_ends(billing) if billing is not None else None
    if ends is None:
        return None
    plan = plan_for(account_id)
    if plan.name == FREE.name:
        return (f"Your payment failed and the grace period ended on {ends:%d %B %Y}: the account is on the Free "
                "plan, schedules are paused. Update your card under Manage billing to get your plan back.")
    return (f"Your last payment failed. Your {plan.title} plan stays until {ends:%d %B %Y}; update your card under "
            f"Manage billing before then, or the account moves to the Free plan ({FREE.monthly_rows:,} rows a "
            "month, manual runs only; schedules pause and are kept).")


def mail_payment_failed(account_id: str) -> int:
    """Mail every admin of the account (in the background); returns how many were written to."""
    text = payment_failed_text(account_id)
    if text is None:
        return 0
    settings = get_settings()
    admins = db.session.scalars(select(User.email).where(User.account_id == account_id, User.role == "admin")).all()
    body = f"{text}\n\nBilling: {settings.public_url.rstrip('/')}/billing\n"
    for address in admins:
        send_later(settings, address, "Inflow: your payment failed", body)
    return len(admins)
