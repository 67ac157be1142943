"""The billing page, Stripe Checkout and the Customer Portal (checklists 28 and 29): pages that open Stripe in a new
window, a CSP that lets forms go to Stripe only, no card field ever accepted, one Checkout Session per purchase."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import BillingAccount, User
from tests.accounts_support import Browser, app_config, sign_up, smtp  # noqa: F401
from tests.billing.support import deliver, event, subscribe
from tests.stripe_fake import PRICES

STRIPE_ORIGINS = {"https://checkout.stripe.com", "https://billing.stripe.com"}


def _signed_up(client, smtp) -> tuple[Browser, str]:  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    return browser, db.session.scalars(select(User.account_id)).one()


def test_page_shows_free_usage_and_opens_checkout_in_a_new_window_with_stripe_only_csp(client, smtp):  # noqa: F811
    browser, _ = _signed_up(client, smtp)
    page = browser.get("/billing")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="plan">Free<' in html and "0 of 10,000 used, 10,000 left" in html
    forms = re.findall(r'<form method="post" action="(/billing/checkout)" target="_blank"', html)
    assert len(forms) == 2  # Team and Business, each opening Stripe in a new window
    assert "Manage billing" not in html  # nothing to manage before a first purchase

    csp = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    origins = {o for values in csp.values() for o in values.split() if o.startswith(("http", "*"))}
    assert origins == STRIPE_ORIGINS and sorted(csp["form-action"].split()) == sorted(["'self'", *STRIPE_ORIGINS])
    assert page.headers["X-Frame-Options"] == "DENY"


def test_checkout_is_a_subscription_session_for_the_plans_price(client, smtp, localstripe):  # noqa: F811
    browser, account_id = _signed_up(client, smtp)
    before = len(localstripe.checkout_log()["sessions"])
    response = browser.post("/billing/checkout", {"plan": "team", "csrf_token": browser.csrf("/billing")})
    assert response.status_code == 303 and response.headers["Location"].startswith("https://checkout.stripe.com/")
    session = localstripe.checkout_log()["sessions"][before]
    assert session["mode"] == "subscription" and session["client_reference_id"] == account_id
    assert session["line_items_sent"] == [{"price": PRICES["team"], "quantity": "1"}]
    assert session["subscription_data_sent"] == {"metadata": {"account_id": account_id}}
    assert session["customer_email"] == "ada@example.com"
    assert browser.post("/billing/checkout", {"plan": "free", "csrf_token": browser.csrf("/billing")}
                        ).status_code == 400


def test_a_stripe_timeout_then_a_retry_reuses_the_stored_key_and_makes_one_session(client, smtp, localstripe):  # noqa: F811
    browser, account_id = _signed_up(client, smtp)
    log = localstripe.checkout_log()
    keys_before, sessions_before = len(log["keys"]), len(log["sessions"])
    # Stripe makes the session but answers after our client (1 s in tests) gave up, three times over.
    localstripe.delay_first_checkout(5)
    first = browser.post("/billing/checkout", {"plan": "team", "csrf_token": browser.csrf("/billing")})
    key = db.session.scalars(select(BillingAccount.checkout_idempotency_key)).one()
    second = browser.post("/billing/checkout", {"plan": "team", "csrf_token": browser.csrf("/billing")})
    log = localstripe.checkout_log()
    sent = log["keys"][keys_before:]
    assert key and set(sent) == {key}  # every attempt, the library's and the user's, sent the stored key
    assert len(log["sessions"]) - sessions_before == 1  # exactly one session: one purchase, one charge
    url = log["sessions"][-1]["url"]
    # The client's own retry after the timeout (same key) got the session; the user's second click too.
    assert len(sent) == 3 and first.status_code == 303 and second.status_code == 303
    assert first.headers["Location"] == url and second.headers["Location"] == url


@pytest.mark.promise("card-data-stays-with-stripe")
def test_card_fields_are_refused_and_never_stored(client, smtp):  # noqa: F811
    browser, _ = _signed_up(client, smtp)
    token = browser.csrf("/billing")
    for form in ({"plan": "team", "number": "4242424242424242"}, {"plan": "team", "cvc": "123"},
                 {"plan": "team", "card[number]": "4242424242424242", "card[cvc]": "123"}):
        refused = browser.post("/billing/checkout", {**form, "csrf_token": token})
        assert refused.status_code == 400 and refused.get_json()["error"] == "card_data_refused"
    as_json = browser.client.post("/billing/portal", json={"card": {"number": "4242424242424242"}},
                                  base_url="https://localhost", headers={"X-CSRF-Token": token})
    assert as_json.status_code == 400
    assert db.session.scalars(select(BillingAccount)).all() == []


def test_portal_opens_for_a_customer_and_the_page_shows_plan_card_and_manage(client, smtp, localstripe):  # noqa: F811
    browser, account_id = _signed_up(client, smtp)
    token = browser.csrf("/billing")
    assert browser.post("/billing/portal", {"csrf_token": token}).status_code == 502  # no customer yet
    from backend.models import Account

    sub = subscribe(localstripe, db.session.get(Account, account_id))
    assert deliver(client, event("customer.subscription.created", sub)).status_code == 200
    html = browser.get("/billing").get_data(as_text=True)
    assert 'id="plan">Team<' in html and "visa ending in 4242, expires 09/2031" in html
    assert "Manage billing" in html and "250,000 left" in html
    response = browser.post("/billing/portal", {"csrf_token": browser.csrf("/billing")})
    assert response.status_code == 303 and response.headers["Location"].startswith("https://billing.stripe.com/")
    assert localstripe.checkout_log()["portal"][-1]["customer"] == sub["customer"]
    # Subscribed: a second Checkout would start a second subscription, so plan changes go through the Portal.
    assert "/billing/checkout" not in html and "use Manage billing" in html
    sessions = len(localstripe.checkout_log()["sessions"])
    again = browser.post("/billing/checkout", {"plan": "business", "csrf_token": browser.csrf("/billing")})
    assert again.status_code == 409 and again.get_json()["error"] == "already_subscribed"
    assert len(localstripe.checkout_log()["sessions"]) == sessions


def test_users_see_billing_but_only_admins_buy(client, smtp):  # noqa: F811
    browser, _ = _signed_up(client, smtp)
    user = db.session.scalars(select(User)).one()
    user.role = "user"
    db.session.commit()
    html = browser.get("/billing").get_data(as_text=True)
    assert "10,000 left" in html and "/billing/checkout" not in html
    assert browser.post("/billing/checkout", {"plan": "team", "csrf_token": browser.csrf("/settings")}
                        ).status_code == 403


def test_the_canvas_screen_lists_plans_and_checkout_answers_json_for_its_script(client, smtp, localstripe):  # noqa: F811
    browser, _ = _signed_up(client, smtp)
    html = browser.get("/ui/billing").get_data(as_text=True)
    assert 'data-screen="billing"' in html and 'data-checkout="team"' in html and 'data-checkout="business"' in html
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', browser.get("/app").get_data(as_text=True))[1]
    answer = browser.client.post("/billing/checkout", json={"plan": "business"}, base_url="https://localhost",
                                 headers={"X-CSRF-Token": token})
    assert answer.status_code == 200
    assert answer.get_json()["url"] == localstripe.checkout_log()["sessions"][-1]["url"]


def test_a_failed_payment_shows_a_banner_on_every_page_and_screen(client, smtp, localstripe):  # noqa: F811
    from backend.models import Account
    from tests.billing.support import decline_renewal

    browser, account_id = _signed_up(client, smtp)
    sub = subscribe(localstripe, db.session.get(Account, account_id))
    assert deliver(client, event("customer.subscription.created", sub)).status_code == 200
    assert "payment failed" not in browser.get("/ui/home").get_data(as_text=True)
    past_due = decline_renewal(localstripe, sub)
    assert deliver(client, event("customer.subscription.updated", past_due)).status_code == 200
    for path in ("/ui/home", "/ui/history", "/ui/billing", "/settings", "/billing"):
        html = browser.get(path).get_data(as_text=True)
        assert html.count("Your last payment failed. Your Business plan stays until") == 1, path
    smtp.wait_for(2)  # the sign-up mail, then the payment failure (told by the subscription's own event)
    assert "payment failed" in smtp.messages[-1]["Subject"]
