"""Calls to Stripe: Checkout (subscription mode), the Customer Portal, reading a subscription, cancelling it.

Card numbers never pass through Inflow: Checkout and the Portal are Stripe's own pages. What comes back is
read from Stripe's API responses only (the card's brand, last 4 and expiry), never from a form of ours.
"""

from __future__ import annotations

import secrets
from typing import Any

import stripe

from backend.billing.plans import GRACE_STATUSES, PAID_STATUSES, Plan, billing_record, price_id
from backend.extensions import db
from backend.models.billing import BillingAccount
from backend.services import get_settings

IN_FORCE = PAID_STATUSES + GRACE_STATUSES


class BillingUnavailable(RuntimeError):
    """Stripe is not configured, did not answer, or refused; the message can be shown to the user."""


class AlreadySubscribed(BillingUnavailable):
    """A second Checkout would start a second subscription: plan changes go through the Customer Portal."""


def client() -> stripe.StripeClient:
    settings = get_settings()
    if not settings.stripe_secret_key:
        raise BillingUnavailable("Billing is not set up on this deployment.")
    bases = {"api": settings.stripe_api_base.rstrip("/")} if settings.stripe_api_base else None
    # Retries resend the same Idempotency-Key (ours, or the library's own), so Stripe does the work once.
    return stripe.StripeClient(settings.stripe_secret_key, base_addresses=bases, max_network_retries=2,
                               http_client=stripe.RequestsClient(timeout=settings.stripe_timeout_seconds))


def as_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict(recursive=True) if hasattr(obj, "to_dict") else dict(obj)


def record_for(account_id: str) -> BillingAccount:
    """The account's billing row, created on first use (not committed)."""
    billing = billing_record(account_id)
    if billing is None:
        billing = BillingAccount(account_id=account_id)
        db.session.add(billing)
    return billing


def checkout_url(account_id: str, plan: Plan, customer_email: str) -> str:
    """A Stripe Checkout Session (subscription mode) for the plan; its URL opens in a new window.

    The Idempotency-Key is stored before the first attempt and reused until a subscription exists: a retry
    after a timeout, or a second click, gets the same session back from Stripe, never a second one.
    """
    settings = get_settings()
    billing = record_for(account_id)
    if billing.stripe_subscription_id and billing.subscription_status in IN_FORCE:
        raise AlreadySubscribed("This account already has a subscription; change its plan under Manage billing.")
    if not billing.checkout_idempotency_key or billing.checkout_plan != plan.name:
        billing.checkout_idempotency_key = f"checkout-{secrets.token_hex(16)}"
        billing.checkout_plan = plan.name
    db.session.commit()
    done = f"{settings.public_url.rstrip('/')}/billing/done"
    params: dict[str, Any] = {
        "mode": "subscription", "line_items": [{"price": price_id(plan, settings), "quantity": 1}],
        "client_reference_id": account_id, "success_url": f"{done}?checkout=success",
        "cancel_url": f"{done}?checkout=cancelled", "metadata": {"account_id": account_id, "plan": plan.name},
        "subscription_data": {"metadata": {"account_id": account_id}},
    }
    if billing.stripe_customer_id:
        params["customer"] = billing.stripe_customer_id
    elif customer_email:
        params["customer_email"] = customer_email
    try:
        session = client().v1.checkout.sessions.create(
            params, options={"idempotency_key": billing.checkout_idempotency_key})
    except stripe.APIConnectionError as err:  # a timeout: keep the key, the next try gets this session
        raise BillingUnavailable("Stripe did not answer in time; try again.") from err
    except stripe.StripeError as err:
        # Stripe keeps even an error answer under its key: the next attempt needs a new one.
        billing.checkout_idempotency_key = None
        db.session.commit()
        raise BillingUnavailable("Stripe refused to start the checkout; try again later.") from err
    return str(session.url)


def portal_url(account_id: str) -> str:
    """A Customer Portal session (change card or plan, invoices, cancel) for the account's Stripe customer."""
    billing = billing_record(account_id)
    if billing is None or not billing.stripe_customer_id:
        raise BillingUnavailable("There is no subscription to manage yet; choose a plan first.")
    settings = get_settings()
    try:
        session = client().v1.billing_portal.sessions.create(
            {"customer": billing.stripe_customer_id, "return_url": f"{settings.public_url.rstrip('/')}/billing/done"})
    except stripe.StripeError as err:
        raise BillingUnavailable("Stripe's customer portal could not be opened; try again later.") from err
    return str(session.url)


def fetch_subscription(subscription_id: str) -> dict[str, Any]:
    """The subscription as Stripe has it now (the truth whatever order its events arrive in)."""
    return as_dict(client().v1.subscriptions.retrieve(subscription_id))


def fetch_card(subscription: dict[str, Any]) -> dict[str, Any] | None:
    """brand, last4, exp_month, exp_year of the subscription's default payment method (or the customer's);
    nothing else of the card is read."""
    api = client()
    method = subscription.get("default_payment_method")
    if isinstance(method, dict):
        method = method.get("id")
    if not method and subscription.get("customer"):
        customer = as_dict(api.v1.customers.retrieve(str(subscription["customer"])))
        method = ((customer.get("invoice_settings") or {}).get("default_payment_method"))
    if not method:
        return None
    card = as_dict(api.v1.payment_methods.retrieve(str(method))).get("card") or {}
    return {k: card.get(k) for k in ("brand", "last4", "exp_month", "exp_year")} if card.get("last4") else None


def cancel_subscription(account_id: str) -> bool:
    """Cancel the account's subscription at Stripe now (account deletion); True when one was cancelled."""
    billing = billing_record(account_id)
    if billing is None or not billing.stripe_subscription_id or billing.subscription_status == "canceled":
        return False
    try:
        client().v1.subscriptions.cancel(billing.stripe_subscription_id,
                                         options={"idempotency_key": f"cancel-{billing.stripe_subscription_id}"})
    except stripe.InvalidRequestError as err:
        if getattr(err, "code", None) == "resource_missing" or err.http_status == 404:
            return False  # gone at Stripe already: nothing can be charged
        raise BillingUnavailable("Stripe refused to cancel the subscription; try again later.") from err
    except stripe.StripeError as err:
        raise BillingUnavailable("Stripe could not be reached to cancel the subscription; try again later.") from err
    billing.subscription_status = "canceled"
    return True
