"""Deleting the account from the settings page in Chromium, as an admin who signs in with Salesforce: Delete
first opens a fresh Salesforce login in a popup, and the deletion goes ahead once it confirms."""

from __future__ import annotations

from backend.extensions import db
from backend.models import Account, User
from backend.security import sessions
from backend.services import get_redis, get_settings
from tests.browser.conftest import shot
from tests.browser.host import install_app, open_tab, screen


def _signed_in(page, user: User, inflow_url: str) -> None:
    """The browser holds a session for `user`, as "Log in with Salesforce" would have left it."""
    token, _ = sessions.create(get_redis(), get_settings(), user.id, user.account_id)
    page.context.add_cookies([{"name": sessions.COOKIE_NAME, "value": token, "url": inflow_url, "secure": True,
                               "httpOnly": True, "sameSite": "Lax"}])


def test_delete_asks_for_a_fresh_salesforce_login_in_a_popup_then_deletes(page, make_org, live_app, inflow_url):
    sf_org = make_org()
    install_app(sf_org, inflow_url)
    screen(open_tab(page, sf_org), "home")  # the first launch provisions the account, this user its admin
    account = db.session.scalars(db.select(Account).where(Account.salesforce_org_id == sf_org.id)).one()
    account_id, company = account.id, account.company
    _signed_in(page, db.session.scalars(db.select(User).where(User.account_id == account.id)).one(), inflow_url)

    page.goto(f"{inflow_url}/settings")
    page.fill("input[name=confirm]", company)
    shot(page, "20-settings-delete")
    with page.expect_popup() as opened:
        page.click("button:has-text('Delete this account')")
    popup = opened.value
    popup.wait_for_selector("#username")  # prompt=login: Salesforce asks for the password again
    popup.fill("#username", sf_org.admin_username)
    popup.fill("#password", sf_org.admin_password)
    popup.click("#oaapprove")
    page.wait_for_selector("text=have been deleted")
    shot(page, "21-account-deleted")
    db.session.expunge_all()
    assert db.session.get(Account, account_id) is None
