"""The plans, in one place, and `plan_for(account)`: the one answer every gate (quota, schedules, connectors) asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from backend.errors import InflowError
from backend.extensions import db
from backend.models.accounts import Account
from backend.models.base import utcnow
from backend.models.billing import BillingAccount
from backend.services import get_settings
from backend.settings import Settings

UPGRADE_HINT = "An admin can upgrade on the Billing page (/billing)."
PAID_STATUSES = ("active", "trialing")
GRACE_STATUSES = ("past_due", "unpaid")  # a payment failed: the plan holds for the grace period


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    monthly_rows: int  # processed rows (succeeded + failed) per billing period
    schedules: bool
    connectors: bool
    price_setting: str | None  # the Settings field holding this plan's Stripe Price id; None: not sold
    price_label: str

    def allows(self, feature: str) -> bool:
        return bool(getattr(self, feature))


FREE = Plan("free", "Free", 10_000, schedules=False, connectors=False, price_setting=None, price_label="free")
PLANS: dict[str, Plan] = {p.name: p for p in (
    FREE,
    Plan("team", "Team", 250_000, schedules=True, connectors=True, price_setting="stripe_price_team",
         price_label="49 EUR a month"),
    Plan("business", "Business", 2_000_000, schedules=True, connectors=True, price_setting="stripe_price_business",
         price_label="199 EUR a month"),
)}
# A deployment without Stripe (STRIPE_SECRET_KEY unset: self-hosted, the local demo) sells nothing, so it
# meters nothing: every account may use every feature without a row quota.
UNBILLED = Plan("unbilled", "Unbilled (no Stripe configured)", 10 ** 15, schedules=True, connectors=True,
                price_setting=None, price_label="not billed")
FEATURE_NAMES = {"schedules": "Scheduled runs", "connectors": "Connectors (databases, SFTP, cloud storage)"}


class PlanRefused(InflowError):
    """The account's plan does not allow this (a feature, or rows beyond the quota); the message says how to upgrade."""


def price_id(plan: Plan, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return getattr(settings, plan.price_setting) if plan.price_setting else ""


def plan_for_price(price: str, settings: Settings | None = None) -> Plan | None:
    """The plan a Stripe Price id buys, or None for a price that is not ours."""
    settings = settings or get_settings()
    return next((p for p in PLANS.values() if price and price_id(p, settings) == price), None)


def billing_record(account_id: str) -> BillingAccount | None:
    return db.session.scalars(select(BillingAccount).where(BillingAccount.account_id == account_id)).first()


def grace_ends(billing: BillingAccount, settings: Settings | None = None) -> datetime | None:
    """When a failed payment stops keeping the paid plan; None when no payment is failing."""
    if billing.subscription_status not in GRACE_STATUSES:
        return None
    settings = settings or get_settings()
    failed_at = billing.payment_failed_at or billing.updated_at or utcnow()
    return failed_at + timedelta(days=settings.billing_grace_days)


def plan_for(account: Account | str, *, now: datetime | None = None) -> Plan:
    """The plan in force for the account right now: what it pays for, held through the grace period of a
    failed payment, and Free otherwise (never subscribed, cancelled, or grace over)."""
    if not get_settings().stripe_secret_key:
        return UNBILLED
    account_id = account if isinstance(account, str) else account.id
    billing = billing_record(account_id)
    if billing is None or billing.plan not in PLANS:
        return FREE
    paid = PLANS[billing.plan]
    if billing.subscription_status in PAID_STATUSES:
        return paid
    ends = grace_ends(billing)
    if ends is not None and (now or utcnow()) < ends:
        return paid
    return FREE


def require(account: Account | str, feature: str) -> Plan:
    """The gate for a feature: returns the plan, or raises PlanRefused saying which plans have it."""
    plan = plan_for(account)
    if plan.allows(feature):
        return plan
    with_it = ", ".join(p.title for p in PLANS.values() if p.allows(feature))
    raise PlanRefused(f"{FEATURE_NAMES.get(feature, feature)} are not part of the {plan.title} plan; "
                      f"they come with {with_it}. {UPGRADE_HINT}")
