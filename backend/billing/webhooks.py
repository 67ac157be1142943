"""Stripe webhook events: verified by the library's helper, handled once per event id, safe in any order.

Order: Stripe delivers events unordered and sometimes twice. Every subscription-related event re-reads the
subscription from Stripe and stores that, so `updated` before `created`, or an old event replayed late,
ends in Stripe's current state, never in the state of whichever event came last.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.billing.plans import GRACE_STATUSES, PAID_STATUSES, plan_for, plan_for_price
from backend.billing.stripe_api import IN_FORCE, fetch_card, fetch_subscription, record_for
from backend.extensions import db
from backend.models.accounts import Account
from backend.models.audit import record
from backend.models.base import utcnow
from backend.models.billing import BillingAccount, StripeEvent
from backend.services import get_settings

log = logging.getLogger(__name__)
HANDLED = ("checkout.session.completed", "customer.subscription.created", "customer.subscription.updated",
           "customer.subscription.deleted", "invoice.paid", "invoice.payment_failed")


class BadSignature(ValueError):
    """The body was not signed with our endpoint secret, was altered, or is older than the tolerance."""


@dataclass
class Outcome:
    event_id: str
    type: str
    duplicate: bool = False
    payment_failed_account: str | None = None  # whose admins are told (after the commit)


def verify(payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event, if `Stripe-Signature` signs this exact body with our secret within the default tolerance."""
    secret = get_settings().stripe_webhook_secret
    if not secret or not signature:
        raise BadSignature("missing signature or endpoint secret")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (stripe.SignatureVerificationError, ValueError) as err:
        raise BadSignature(type(err).__name__) from err
    return event.to_dict(recursive=True)


def handle(event: dict[str, Any]) -> Outcome:
    """Process the event once, in one transaction with its id: a failure leaves no trace, so Stripe's retry
    is processed again; a redelivery of a processed event changes nothing."""
    outcome = Outcome(event["id"], event["type"])
    db.session.add(StripeEvent(id=event["id"], type=event["type"][:64]))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        outcome.duplicate = True
        return outcome
    try:
        if event["type"] in HANDLED:
            _dispatch(event, outcome)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return outcome


def _dispatch(event: dict[str, Any], outcome: Outcome) -> None:
    obj = event["data"]["object"]
    kind = event["type"]
    if kind == "checkout.session.completed":
        billing = _billing_for(obj.get("customer"), obj.get("client_reference_id"))
        subscription = obj.get("subscription")
    elif kind.startswith("customer.subscription."):
        billing = _billing_for(obj.get("customer"), (obj.get("metadata") or {}).get("account_id"))
        subscription = obj.get("id")
    else:
        billing = _billing_for(obj.get("customer"), None)
        subscription = _invoice_subscription(obj)
    if billing is None or not subscription:
        return
    if _sync(billing, str(subscription), paid=kind == "invoice.paid"):
        outcome.payment_failed_account = billing.account_id


def _invoice_subscription(invoice: dict[str, Any]) -> str | None:
    """An invoice names its subscription at the top (older API versions) or under parent (2025 and later)."""
    sub = invoice.get("subscription") or (((invoice.get("parent") or {}).get("subscription_details") or {})
                                          .get("subscription"))
    return str(sub) if sub else None


def _billing_for(customer: Any, account_id: str | None) -> BillingAccount | None:
    """The billing row of a Stripe customer, or of the account our metadata names (an event about a new
    customer can arrive before checkout.session.completed links it)."""
    if customer:
        found = db.session.scalars(select(BillingAccount).where(
            BillingAccount.stripe_customer_id == str(customer))).first()
        if found is not None:
            return found
    if not account_id or db.session.get(Account, account_id) is None:
        log.warning("stripe event for an unknown customer; ignored")
        return None
    billing = record_for(account_id)
    if customer and not billing.stripe_customer_id:
        billing.stripe_customer_id = str(customer)
    return billing


def _sync(billing: BillingAccount, subscription_id: str, *, paid: bool = False) -> bool:
    """Store the subscription as Stripe has it now; True when this is the moment a payment is first seen
    failing (whichever event told us: the invoice's or the subscription's). An event about another, older
    subscription of the customer does not replace the one in force."""
    sub = fetch_subscription(subscription_id)
    current = billing.stripe_subscription_id
    if current and current != sub["id"] and billing.subscription_status in IN_FORCE and sub["status"] not in IN_FORCE:
        return False
    started_failing = False
    item = ((sub.get("items") or {}).get("data") or [{}])[0]
    price = (item.get("price") or {}).get("id") or (item.get("plan") or {}).get("id") or ""
    plan = plan_for_price(price)
    billing.stripe_subscription_id = sub["id"]
    billing.stripe_customer_id = billing.stripe_customer_id or str(sub.get("customer") or "") or None
    billing.subscription_status = str(sub["status"])
    billing.plan = plan.name if plan else "free"
    billing.current_period_start = _time(sub.get("current_period_start") or item.get("current_period_start"))
    billing.current_period_end = _time(sub.get("current_period_end") or item.get("current_period_end"))
    if paid and billing.subscription_status in PAID_STATUSES:
        billing.payment_failed_at = None  # an invoice paid and the subscription in good standing: failure over
    if billing.subscription_status in GRACE_STATUSES and billing.payment_failed_at is None:
        billing.payment_failed_at = utcnow()  # the grace period starts when we learn of it
        started_failing = True
    if billing.subscription_status in PAID_STATUSES:
        billing.checkout_idempotency_key = billing.checkout_plan = None  # bought: the next checkout is a new one
    card = fetch_card(sub)
    if card is not None:
        billing.card_brand, billing.card_last4 = str(card["brand"] or "")[:32], str(card["last4"])[:4]
        billing.card_exp_month, billing.card_exp_year = int(card["exp_month"]), int(card["exp_year"])
    db.session.flush()
    account = db.session.get(Account, billing.account_id)
    if account is not None:
        new_plan = plan_for(account).name
        if account.plan != new_plan:
            record("billing.plan_changed", account_id=account.id, target=sub["id"], old=account.plan, new=new_plan,
                   status=billing.subscription_status)
        account.plan = new_plan  # kept in step for pages that show it; gates ask plan_for
    return started_failing


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None
