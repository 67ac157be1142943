"""Billing pages: plan and usage, Stripe Checkout and Customer Portal (each in a new window), the Stripe webhook."""

from __future__ import annotations

import logging
import re
from typing import Any

import stripe
from flask import Blueprint, Response, jsonify, redirect, render_template, request

from backend.billing import notices, webhooks
from backend.billing.card import card_on_file
from backend.billing.plans import FREE, PLANS, billing_record, plan_for, price_id
from backend.billing.stripe_api import IN_FORCE, AlreadySubscribed, BillingUnavailable, checkout_url, portal_url
from backend.billing.usage import usage_for
from backend.models import Job
from backend.services import get_settings
from backend.web.authn import admin_required, current_identity, login_required, uses_bearer
from backend.web.csrf import csrf_exempt
from backend.web.headers import allow_sources

log = logging.getLogger(__name__)
bp = Blueprint("billing", __name__)
WEBHOOK_MAX_BYTES = 1024 * 1024  # Stripe's events are a few KB; nothing bigger is read before its signature
STRIPE_PAGES = ("https://checkout.stripe.com", "https://billing.stripe.com")
# Field names that would carry a card: Inflow never takes them, Stripe's own pages do (PCI SAQ A).
CARD_FIELD = re.compile(r"(^|[\[\]_.-])(number|cvc|cvv|cvc2|cvv2|pan|card_?number)($|[\[\]_.-])", re.IGNORECASE)


def _card_fields(data: Any) -> bool:
    if isinstance(data, dict):
        return any(CARD_FIELD.search(str(k)) or _card_fields(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_card_fields(v) for v in data)
    return False


@bp.before_request
def _refuse_card_data():
    if request.method != "POST" or request.endpoint == "billing.webhook":
        return None
    if _card_fields(request.form.to_dict()) or _card_fields(request.get_json(silent=True) or {}):
        log.warning("billing request refused: it carried card fields")  # which fields or values: never logged
        return jsonify(error="card_data_refused", message="Inflow never takes card details; enter them only on "
                       "Stripe's payment page."), 400
    return None


def _page(template: str) -> str:
    identity = current_identity()
    account_id = identity.account.id
    plan = plan_for(account_id)
    billing = billing_record(account_id)
    paused = [] if plan.schedules else [j for j in identity.scope.all(Job, Job.schedule.isnot(None)) if j.schedule]
    return render_template(
        template, plan=plan, usage=usage_for(account_id), billing=billing,
        card=card_on_file(account_id), paused_jobs=paused,
        plans=[p for p in PLANS.values() if p is not FREE and price_id(p)], is_admin=identity.is_admin,
        configured=bool(get_settings().stripe_secret_key), can_manage=bool(billing and billing.stripe_customer_id),
        subscribed=bool(billing and billing.stripe_subscription_id and billing.subscription_status in IN_FORCE))


@bp.app_template_global()
def billing_banner() -> str | None:
    """The payment-failure banner every signed-in page and canvas screen shows (templates call it)."""
    identity = current_identity()
    return notices.payment_failed_text(identity.account.id) if identity is not None else None


@bp.get("/billing")
@login_required
def page():
    # The only third-party origins this page may send the browser to: Stripe's Checkout and Portal.
    allow_sources("form-action", *STRIPE_PAGES)
    return _page("billing/index.html")


@bp.get("/ui/billing")
@login_required
def screen():
    """The same, as a screen of the importer shell (canvas): its script opens Stripe in a new window."""
    return _page("ui/billing.html")


def _open(url_maker) -> Response | tuple[Response, int]:
    """A Stripe page's URL: JSON for the canvas (its script opens the window), else a redirect that the form
    (target=_blank) follows in the new window. Stripe's pages refuse to be framed inside Salesforce."""
    try:
        url = url_maker()
    except AlreadySubscribed as err:
        return jsonify(error="already_subscribed", message=str(err)), 409
    except BillingUnavailable as err:
        return jsonify(error="billing_unavailable", message=str(err)), 502
    if uses_bearer() or request.is_json:
        return jsonify(url=url)
    return redirect(url, 303)


@bp.post("/billing/checkout")
@admin_required
def checkout():
    identity = current_identity()
    name = (request.get_json(silent=True) or {}).get("plan") if request.is_json else request.form.get("plan")
    plan = PLANS.get(str(name or ""))
    if plan is None or plan is FREE or not price_id(plan):
        return jsonify(error="unknown_plan", message="Choose one of the plans on the Billing page."), 400
    return _open(lambda: checkout_url(identity.account.id, plan, identity.user.email if identity.user else ""))


@bp.post("/billing/portal")
@admin_required
def portal():
    return _open(lambda: portal_url(current_identity().account.id))


@bp.get("/billing/done")
def done():
    return render_template("billing/done.html", cancelled=request.args.get("checkout") == "cancelled")


@bp.post("/billing/stripe/webhook")
@csrf_exempt
def webhook():
    """No session and no CSRF token: the Stripe-Signature over the raw body is the authentication."""
    request.max_content_length = WEBHOOK_MAX_BYTES  # Flask 3.1: this request's limit, chunked bodies included
    if (request.content_length or 0) > WEBHOOK_MAX_BYTES:
        return jsonify(error="too_large"), 413
    try:
        event = webhooks.verify(request.get_data(cache=False), request.headers.get("Stripe-Signature"))
    except webhooks.BadSignature as err:
        log.warning("stripe webhook refused: %s", err)
        return jsonify(error="bad_signature"), 400
    try:
        outcome = webhooks.handle(event)
    except (stripe.StripeError, BillingUnavailable) as err:  # Stripe retries a 5xx later
        log.warning("stripe webhook %s not processed: %s", event.get("id"), type(err).__name__)
        return jsonify(error="retry_later"), 500
    if outcome.payment_failed_account:
        notices.mail_payment_failed(outcome.payment_failed_account)
    return jsonify(received=outcome.event_id, duplicate=outcome.duplicate)
