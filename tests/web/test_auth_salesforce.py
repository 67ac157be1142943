""""Log in with Salesforce" over real OAuth (PKCE, browser-bound state) against localorg over HTTPS."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import Account, AuditEvent, User
from backend.security import sessions
from tests.accounts_support import Browser, accounts_config, localorg_ca, smtp  # noqa: F401

CALLBACK = "https://localhost/login/salesforce/callback"


@pytest.fixture
def sf_app(org):  # noqa: F811
    return org.register_app("Inflow", [CALLBACK])


@pytest.fixture
def app_config(app_config, smtp, localorg, sf_app, localorg_ca):  # noqa: F811
    return {**accounts_config(app_config, smtp), "salesforce_login_url": localorg.base_url,
            "salesforce_client_id": sf_app.consumer_key, "salesforce_client_secret": sf_app.consumer_secret}


def _linked_user(sf_org, sf_user_id: str | None = None) -> User:
    account = Account(company="Acme", region="eu-frankfurt", salesforce_org_id=sf_org.id)
    db.session.add(account)
    db.session.flush()
    user = User(account_id=account.id, email="ada@example.com", role="admin", email_verified=True,
                salesforce_user_id=sf_user_id or sf_org.admin_id)
    db.session.add(user)
    db.session.commit()
    return user


def _approve_at_salesforce(location: str, session, sf_org) -> str:
    """What the user does at Salesforce: log in (we ask for prompt=login) and allow; returns where Salesforce
    sends the browser back."""
    page = session.get(location, timeout=10)
    assert page.status_code == 200 and 'name="password"' in page.text
    fields = {m[0]: html.unescape(m[1]) for m in re.findall(r'name="([^"]+)" value="([^"]*)"', page.text)}
    back = session.post(location.split("?")[0], data={
        **fields, "username": sf_org.admin_username, "password": sf_org.admin_password, "action": "allow"},
        allow_redirects=False, timeout=10)
    assert back.status_code == 302
    return back.headers["Location"]


def test_linked_salesforce_user_logs_in_and_the_token_is_revoked(client, org, sf_app, sf_session):  # noqa: F811
    user = _linked_user(org)
    browser = Browser(client)
    start = browser.submit("/login", "/login/salesforce", {"next": "/settings"})
    assert start.status_code == 303
    location = start.headers["Location"]
    assert "code_challenge=" in location and "state=" in location and "code_challenge_method=S256" in location
    back = _approve_at_salesforce(location, sf_session, org)
    assert back.startswith(CALLBACK)
    done = browser.get(back.removeprefix("https://localhost"))
    assert done.status_code == 303 and done.headers["Location"] == "/settings"
    assert browser.cookie(sessions.COOKIE_NAME) is not None
    assert "Settings" in browser.get("/settings").get_data(as_text=True)
    issued = [s for s in org.sessions.sessions.values() if s.app == sf_app.consumer_key]
    assert issued and all(s.revoked for s in issued)  # nothing of Salesforce's is kept for a login
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).one()
    assert event.user_id == user.id and event.details == {"method": "salesforce"}


def test_unlinked_salesforce_user_gets_no_session(client, org, sf_session):  # noqa: F811
    _linked_user(org, sf_user_id="005000000000000AAA")  # someone else
    browser = Browser(client)
    start = browser.submit("/login", "/login/salesforce", {})
    back = _approve_at_salesforce(start.headers["Location"], sf_session, org)
    done = browser.get(back.removeprefix("https://localhost"))
    assert done.status_code == 400 and "No Inflow user is linked" in done.get_data(as_text=True)
    assert browser.cookie(sessions.COOKIE_NAME) is None


def test_callback_not_started_by_this_browser_is_refused(client, org, sf_session):  # noqa: F811
    """Login CSRF: an attacker's own code and state, planted in a victim's browser, do nothing."""
    _linked_user(org)
    attacker = Browser(client.application.test_client(), ip="203.0.113.3")
    start = attacker.submit("/login", "/login/salesforce", {})
    back = _approve_at_salesforce(start.headers["Location"], sf_session, org)
    victim = Browser(client)
    response = victim.get(back.removeprefix("https://localhost"))
    assert response.status_code == 400 and victim.cookie(sessions.COOKIE_NAME) is None
