"""The Stripe webhook (checklist 27): signed with our secret or refused, each event once, any order; and what the
events do to an account: plan, card, payment failure with a grace period, banner and e-mail, then Free."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select

from backend.billing.plans import plan_for
from backend.extensions import db
from backend.models import Account, BillingAccount, Job, StripeEvent
from backend.models.base import TenantScope, utcnow
from backend.runs import service
from tests.accounts_support import app_config, smtp  # noqa: F401
from tests.billing.support import (
    account_with_admin,
    customer,
    decline_renewal,
    deliver,
    event,
    signature,
    subscribe,
    subscription,
)
from tests.stripe_fake import WEBHOOK_SECRET


def _billing(account: Account) -> BillingAccount:
    db.session.expire_all()
    return db.session.scalars(select(BillingAccount).where(BillingAccount.account_id == account.id)).one()


def test_signed_event_200_altered_byte_400_old_timestamp_400_replay_once(client, localstripe, smtp):  # noqa: F811
    account = account_with_admin()
    sub = subscribe(localstripe, account)
    payload = event("customer.subscription.created", sub)

    altered = payload.replace(b'"active"', b'"activf"', 1)
    assert deliver(client, altered, sig=signature(payload)).status_code == 400  # signature of the original body
    assert deliver(client, payload, sig=signature(payload, secret="whsec_someone_else")).status_code == 400
    old = int(time.time()) - 301  # Stripe's library refuses more than 300 s by default
    assert deliver(client, payload, sig=signature(payload, t=old)).status_code == 400
    assert client.post("/billing/stripe/webhook", data=payload, content_type="application/json").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 0
    assert db.session.scalar(select(func.count()).select_from(BillingAccount)) == 0

    first = deliver(client, payload)
    assert first.status_code == 200 and first.get_json()["duplicate"] is False
    billing = _billing(account)
    assert (billing.stripe_subscription_id, billing.subscription_status, billing.plan) == (sub["id"], "active", "team")
    assert plan_for(account).name == "team"

    # Replayed: the same event id again, even freshly signed, is answered 200 and does nothing.
    billing.plan = "marker"
    db.session.commit()
    again = deliver(client, payload)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert _billing(account).plan == "marker"
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 1


def test_updated_before_created_ends_in_stripes_current_state(client, localstripe):
    account = account_with_admin()
    cus, _ = customer(localstripe)
    created = subscribe(localstripe, account, cus=cus)
    old_sub = subscription(localstripe, created["id"])
    localstripe.client.v1.subscriptions.cancel(created["id"])  # then the customer cancels
    deleted = subscription(localstripe, created["id"])
    newer = subscribe(localstripe, account, plan="team", cus=cus)  # and subscribes again

    # Delivered newest first, the oldest last: the stored state is Stripe's, not the last arrival's.
    for kind, obj in (("customer.subscription.created", newer), ("customer.subscription.deleted", deleted),
                      ("customer.subscription.updated", old_sub), ("customer.subscription.created", created)):
        assert deliver(client, event(kind, obj)).status_code == 200
    billing = _billing(account)
    assert (billing.stripe_subscription_id, billing.subscription_status) == (newer["id"], "active")
    assert plan_for(account).name == "team"

    # An `updated` for a subscription whose `created` never came yet also lands (metadata names the account).
    other = account_with_admin("second@example.com", "Beta")
    later = subscribe(localstripe, other, plan="business")
    assert deliver(client, event("customer.subscription.updated", later)).status_code == 200
    assert (_billing(other).plan, plan_for(other).name) == ("business", "business")
    assert deliver(client, event("customer.subscription.created", later)).status_code == 200
    assert _billing(other).subscription_status == "active"


def test_checkout_completed_links_the_customer_and_keeps_only_brand_last4_expiry(client, localstripe):
    account = account_with_admin()
    cus, _ = customer(localstripe, exp_year=2033)
    sub = localstripe.client.v1.subscriptions.create({"customer": cus["id"], "items": [{"plan": "price_inflow_team"}]})
    session = {"id": "cs_test_1", "object": "checkout.session", "mode": "subscription", "customer": cus["id"],
               "subscription": sub.id, "client_reference_id": account.id, "status": "complete"}
    assert deliver(client, event("checkout.session.completed", session)).status_code == 200
    billing = _billing(account)
    assert (billing.stripe_customer_id, billing.stripe_subscription_id, billing.plan) == (cus["id"], sub.id, "team")
    assert (billing.card_brand, billing.card_last4, billing.card_exp_month, billing.card_exp_year) == (
        "visa", "4242", 9, 2033)
    assert billing.current_period_end > utcnow() > billing.current_period_start
    from backend.billing.card import card_on_file
    assert tuple(card_on_file(account)) == ("visa", "4242", 9, 2033)


def test_an_event_of_an_unknown_customer_is_acknowledged_and_stores_nothing(client, localstripe):
    cus, _ = customer(localstripe)
    sub = localstripe.client.v1.subscriptions.create({"customer": cus["id"], "items": [{"plan": "price_inflow_team"}]})
    assert deliver(client, event("customer.subscription.created", sub.to_dict(recursive=True))).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(BillingAccount)) == 0


def test_payment_failure_keeps_the_plan_for_the_grace_period_with_banner_and_mail_then_free(
        client, localstripe, smtp):  # noqa: F811
    account = account_with_admin("payer@example.com")
    sub = subscribe(localstripe, account)
    assert deliver(client, event("customer.subscription.created", sub)).status_code == 200
    job = TenantScope(account.id).add(Job(name="Nightly", object_name="Contact", operation="insert",
                                          source={"type": "csv"}, schedule="0 2 * * *"))
    db.session.commit()

    past_due = decline_renewal(localstripe, sub)
    invoice = localstripe.client.v1.invoices.retrieve(past_due["latest_invoice"]).to_dict(recursive=True)
    failed = event("invoice.payment_failed", invoice)
    assert deliver(client, failed).status_code == 200
    assert deliver(client, failed).get_json()["duplicate"] is True  # a redelivery mails nobody again
    billing = _billing(account)
    assert billing.subscription_status == "past_due" and billing.payment_failed_at is not None
    assert plan_for(account).name == "business"  # the plan holds during the grace period

    [mail] = smtp.wait_for(1)
    assert mail["To"] == "payer@example.com" and "payment failed" in mail["Subject"]
    assert "Free plan" in mail.get_content() and "/billing" in mail.get_content()
    time.sleep(0.5)
    assert len(smtp.messages) == 1

    from backend.billing.notices import payment_failed_text
    assert "Business plan stays until" in payment_failed_text(account.id)

    # Seven days later (the setting) the account is on Free: the schedule is kept on the job but paused.
    billing.payment_failed_at = utcnow() - timedelta(days=7, seconds=1)
    db.session.commit()
    assert plan_for(account).name == "free"
    refused = _start_refused(account, job.id, scheduled=True)
    assert "Scheduled runs are not part of the Free plan" in refused and "/billing" in refused
    assert db.session.get(Job, job.id).schedule == "0 2 * * *"
    assert "grace period ended" in payment_failed_text(account.id)

    # The customer updates the card and the invoice is paid: the plan is back.
    good = localstripe.client.v1.payment_methods.create({"type": "card", "card": {
        "number": "4242424242424242", "exp_month": 3, "exp_year": 2034, "cvc": "123"}})
    localstripe.client.v1.payment_methods.attach(good.id, {"customer": sub["customer"]})
    localstripe.client.v1.customers.update(sub["customer"], {"invoice_settings": {"default_payment_method": good.id}})
    localstripe.client.v1.subscriptions.update(sub["id"], {"items": [{"id": past_due["items"]["data"][0]["id"],
                                                                       "plan": "price_inflow_team"}]})
    paid = subscription(localstripe, sub["id"])
    assert paid["status"] == "active"
    invoice = localstripe.client.v1.invoices.retrieve(paid["latest_invoice"]).to_dict(recursive=True)
    assert deliver(client, event("invoice.paid", invoice)).status_code == 200
    billing = _billing(account)
    assert billing.payment_failed_at is None and plan_for(account).name == "team"
    assert (billing.card_last4, billing.card_exp_year) == ("4242", 2034)


def _start_refused(account: Account, job_id: str, *, scheduled: bool = False) -> str:
    from backend.billing.plans import PlanRefused

    try:
        service.start_run(TenantScope(account.id), job_id, scheduled=scheduled)
    except PlanRefused as refused:
        return refused.message
    raise AssertionError("the start was not refused")


def test_a_signed_body_that_is_not_an_event_is_refused(client):
    assert client.post("/billing/stripe/webhook", data=b"t=1", headers={
        "Stripe-Signature": signature(b"t=1")}).status_code == 400


def test_an_event_localstripe_itself_signs_and_delivers_is_processed(app, live_server, localstripe):
    """Not our signing code: localstripe computes the Stripe-Signature itself and POSTs over HTTP, as Stripe does."""
    import secrets

    import requests

    account = account_with_admin()
    hook = f"/_config/webhooks/inflow-{secrets.token_hex(4)}"
    requests.post(f"{localstripe.base}{hook}", timeout=10, data={
        "url": f"{live_server}/billing/stripe/webhook", "secret": WEBHOOK_SECRET,
        "events[]": ["customer.subscription.created"]})
    try:
        sub = subscribe(localstripe, account)
        for _ in range(200):  # localstripe delivers a second after the change: a wait for it, not a timing claim
            db.session.expire_all()
            billing = db.session.scalars(select(BillingAccount).where(BillingAccount.account_id == account.id)).first()
            if billing is not None:
                break
            time.sleep(0.05)
        assert billing is not None and (billing.stripe_subscription_id, billing.plan) == (sub["id"], "team")
        # Only the type is checked: localstripe picks the hooks when it delivers (a second after the change),
        # so subscriptions that earlier tests made just before may arrive here too (their customers are unknown).
        assert "customer.subscription.created" in db.session.scalars(select(StripeEvent.type)).all()
    finally:  # the session's localstripe outlives this server: stop delivering to it
        requests.post(f"{localstripe.base}{hook}", timeout=10, data={
            "url": "http://127.0.0.1:9/none", "secret": WEBHOOK_SECRET, "events[]": ["none.none"]})


def test_a_body_over_one_megabyte_is_refused_before_it_is_read(client):
    payload = b"{" + b" " * (1024 * 1024) + b"}"
    assert deliver(client, payload).status_code == 413
