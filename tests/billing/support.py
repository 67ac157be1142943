"""Helpers for billing tests: Stripe-signed webhook deliveries, and subscriptions made in localstripe the way
Stripe Checkout makes them (a customer with a card, a subscription carrying our account id)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from backend.extensions import db
from backend.models import Account, User
from tests.stripe_fake import PRICES, WEBHOOK_SECRET, LocalStripe

WEBHOOK = "/billing/stripe/webhook"
GOOD_CARD = "4242424242424242"  # localstripe's (and Stripe's) test card that charges
DECLINED_CARD = "4000000000000341"  # attaches, then every charge is declined


def signature(payload: bytes, *, secret: str = WEBHOOK_SECRET, t: int | None = None) -> str:
    """What Stripe sends: t=<unix>,v1=HMAC-SHA256(secret, "<t>.<raw body>")."""
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event(kind: str, obj: dict[str, Any], *, created: int | None = None) -> bytes:
    return json.dumps({"id": f"evt_{secrets.token_hex(12)}", "object": "event", "type": kind,
                       "created": created or int(time.time()), "livemode": False, "api_version": "2017-08-15",
                       "data": {"object": obj}}).encode()


def deliver(client, payload: bytes, *, sig: str | None = None):
    return client.post(WEBHOOK, data=payload, content_type="application/json",
                       headers={"Stripe-Signature": sig or signature(payload)})


def account_with_admin(email: str = "payer@example.com", company: str = "Acme") -> Account:
    account = Account(company=company, region="eu-frankfurt")
    db.session.add(account)
    db.session.flush()
    db.session.add(User(account_id=account.id, email=email, role="admin", email_verified=True))
    db.session.commit()
    return account


def customer(stripe: LocalStripe, card: str = GOOD_CARD, exp_year: int = 2031) -> tuple[dict, dict]:
    c = stripe.client
    pm = c.v1.payment_methods.create({"type": "card", "card": {"number": card, "exp_month": 9,
                                                              "exp_year": exp_year, "cvc": "123"}})
    cus = c.v1.customers.create({"email": "payer@example.com", "payment_method": pm.id,
                                 "invoice_settings": {"default_payment_method": pm.id}})
    return cus.to_dict(recursive=True), pm.to_dict(recursive=True)


def subscribe(stripe: LocalStripe, account: Account, plan: str = "team", cus: dict | None = None) -> dict:
    """A paid subscription at localstripe for the account's customer (what Checkout would have created)."""
    cus = cus or customer(stripe)[0]
    sub = stripe.client.v1.subscriptions.create({"customer": cus["id"], "items": [{"plan": PRICES[plan]}],
                                                  "metadata": {"account_id": account.id}})
    return sub.to_dict(recursive=True)


def subscription(stripe: LocalStripe, sub_id: str) -> dict:
    return stripe.client.v1.subscriptions.retrieve(sub_id).to_dict(recursive=True)


def decline_renewal(stripe: LocalStripe, sub: dict) -> dict:
    """Switch the customer's card to one that is declined, then make localstripe invoice the subscription
    (a move to the yearly Business price): the charge fails and the subscription turns past_due."""
    c = stripe.client
    bad = c.v1.payment_methods.create({"type": "card", "card": {"number": DECLINED_CARD, "exp_month": 1,
                                                               "exp_year": 2032, "cvc": "123"}})
    c.v1.payment_methods.attach(bad.id, {"customer": sub["customer"]})
    c.v1.customers.update(sub["customer"], {"invoice_settings": {"default_payment_method": bad.id}})
    c.v1.subscriptions.update(sub["id"], {"items": [{"id": sub["items"]["data"][0]["id"],
                                                     "plan": PRICES["business"]}]})
    now = subscription(stripe, sub["id"])
    assert now["status"] == "past_due"
    return now
