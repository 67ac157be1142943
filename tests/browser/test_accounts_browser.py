"""First-party accounts in Chromium over HTTPS: sign up, confirm by the mailed link, settings, log out,
log in. Proves a real browser keeps the `__Host-` Secure cookies and the CSRF tokens work with our CSP."""

from __future__ import annotations

import pytest

from tests.accounts_support import PASSWORD, accounts_config, smtp  # noqa: F401
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config, smtp, inflow_url):  # noqa: F811
    return {**accounts_config(app_config, smtp), "public_url": inflow_url}


def test_sign_up_confirm_log_out_and_in(page, live_app, inflow_url, smtp):  # noqa: F811
    page.goto(f"{inflow_url}/signup")
    page.fill("input[name=first_name]", "Ada")
    page.fill("input[name=last_name]", "Lovelace")
    page.fill("input[name=email]", "ada@example.com")
    page.fill("input[name=company]", "Acme")
    page.fill("input[name=country]", "GB")
    page.fill("input[name=password]", PASSWORD)
    page.click("text=Create account")
    page.wait_for_selector("text=Check your email")
    shot(page, "accounts-1-check-email")

    smtp.wait_for(1)
    token = smtp.link("ada@example.com", "/verify")
    page.goto(f"{inflow_url}/verify#token={token}")  # as mailed: the token never reaches the server's URL
    assert page.url == f"{inflow_url}/verify"  # and leaves the address bar
    page.fill("input[name=password]", PASSWORD)
    page.click("text=Confirm my email address")
    page.wait_for_selector("#retention-days")
    shot(page, "accounts-2-settings")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["__Host-inflow_session"]
    assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Lax" and session["path"] == "/"

    page.fill("input[name=retention_days]", "5")
    page.click("text=Save")
    page.wait_for_selector("#retention-days:has-text('5')")

    page.click("text=Log out")
    page.wait_for_selector("input[name=password]")
    assert "__Host-inflow_session" not in {c["name"] for c in page.context.cookies()}
    page.goto(f"{inflow_url}/settings")
    assert "/login" in page.url

    page.fill("input[name=email]", "ada@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Log in'):not(:has-text('Salesforce'))")
    page.wait_for_selector("#retention-days:has-text('5')")
    shot(page, "accounts-3-logged-in-again")
