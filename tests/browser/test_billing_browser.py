"""Billing inside localorg's Lightning tab, in Chromium: the admin opens Billing in the canvas, and Stripe Checkout
opens in a new window (Stripe's pages refuse to be framed), at the session localstripe made for the plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import shot
from tests.browser.host import install_app, open_tab, screen
from tests.stripe_fake import LocalStripe, localstripe, stripe_config  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_config(app_config, localstripe):  # noqa: F811
    return stripe_config(app_config, localstripe)


def test_checkout_opens_in_a_new_window_from_the_canvas(page, make_org, live_app, inflow_url, localstripe):  # noqa: F811
    sf_org = make_org()
    install_app(sf_org, inflow_url)
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    frame.click("[data-nav='#/billing']")
    screen(frame, "billing")
    assert frame.inner_text("[data-field=plan]") == "Free"
    assert "0 of 10,000 used, 10,000 left" in frame.inner_text("[data-field=usage]")
    shot(page, "30-billing-canvas")

    # Nothing leaves this machine: Stripe's hosted page is answered by the test, whatever session it is.
    page.context.route("https://checkout.stripe.com/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<title>Stripe Checkout</title><p>Pay on Stripe</p>"))
    with page.expect_popup() as opened:
        frame.click("[data-checkout=team]")
    popup = opened.value
    popup.wait_for_url("https://checkout.stripe.com/**")  # opened blank on the click, sent on once Inflow answered
    session = localstripe.checkout_log()["sessions"][-1]
    assert popup.url == session["url"] and popup.title() == "Stripe Checkout"
    assert session["mode"] == "subscription" and session["line_items_sent"][0]["price"] == "price_inflow_team"
    assert popup.evaluate("window.opener") is None  # Stripe's page gets no handle on the canvas
    assert page.url.startswith(sf_org.instance_url)  # the Lightning page itself stayed where it was
