"""Disconnect of the org that hosts the Inflow tab, in Chromium: a dialog that says what stops and what stays,
one state afterwards ("Disconnected: background access off") that survives reopening the tab, no "session ended"
banners, and an explicit Reconnect."""

from __future__ import annotations

from backend.extensions import db
from backend.models import OrgConnection
from tests.browser.conftest import shot
from tests.browser.host import open_tab, screen
from tests.browser.test_importer import sf_org  # noqa: F401

GONE = "Disconnected: background access off"


def _status(frame, org_id: str) -> str:
    return frame.inner_text(f"[data-instance='{org_id}'] [data-status]")


def test_disconnecting_the_tabs_own_org_says_what_happens_and_stays_until_reconnect(page, sf_org):  # noqa: F811
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    frame.click("[data-nav='#/instances']")
    screen(frame, "instances")
    conn = db.session.scalars(db.select(OrgConnection)).one()
    item = f"[data-instance='{conn.id}']"
    assert _status(frame, conn.id) == "Connected"
    frame.click(f"{item} [data-disconnect]")
    dialog = frame.wait_for_selector("[data-disconnect-dialog]:not(.slds-hide)")
    text = dialog.inner_text()
    for stops in ("Schedules and runs into this org", "Background access", "Stored tokens: revoked at Salesforce"):
        assert stops in text
    for stays in ("Run history", "Result files, until they expire", "Saved jobs"):
        assert stays in text
    shot(page, "30-disconnect-dialog")
    frame.click("[data-dc=keep]")
    assert frame.is_hidden("[data-disconnect-dialog]") and _status(frame, conn.id) == "Connected"

    frame.click(f"{item} [data-disconnect]")
    frame.click("[data-dc=confirm]")
    frame.wait_for_selector(f"{item} [data-reauth=salesforce] button")
    with page.expect_popup() as opened:
        frame.click(f"{item} [data-reauth=salesforce] button")
    popup = opened.value
    popup.wait_for_selector("#username")
    popup.fill("#username", sf_org.admin_username)
    popup.fill("#password", sf_org.admin_password)
    popup.click("#oaapprove")
    popup.wait_for_selector("#inflow-oauth-done[data-reauthenticated=yes]")
    frame.wait_for_selector(f"{item} [data-status]:has-text('{GONE}')")
    frame.click("[data-nav='#/']")  # the page goes on working: no "session ended" banner, no second one
    screen(frame, "home")
    assert frame.is_hidden("#inflow-session-banner") and "session" not in frame.inner_text("#inflow-screen")
    shot(page, "31-disconnected")

    frame = open_tab(page, sf_org)  # the tab opened again: still disconnected, said in the header too
    screen(frame, "home")
    assert frame.inner_text("[data-org-status]") == GONE
    frame.click("[data-nav='#/instances']")
    screen(frame, "instances")
    assert _status(frame, conn.id) == GONE
    db.session.expire_all()
    assert db.session.get(OrgConnection, conn.id).status == "disconnected"

    frame.click(f"{item} [data-reconnect]")
    frame.wait_for_selector(f"{item} [data-disconnect]")  # shown again once the org is connected
    assert _status(frame, conn.id) == "Connected"
    db.session.expire_all()
    assert db.session.get(OrgConnection, conn.id).status == "connected"
    shot(page, "32-reconnected")


def test_connect_an_instance_opens_salesforce_login_in_the_popup_not_a_blank_page(page, sf_org):  # noqa: F811
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    frame.click("[data-nav='#/instances']")
    screen(frame, "instances")
    with page.expect_popup() as opened:
        frame.click("[data-connect] button[type=submit]")
    popup = opened.value
    popup.wait_for_selector("#username")  # localorg's login page, reached through Inflow's start page
    assert "/services/oauth2/authorize" in popup.url
    shot(popup, "33-connect-popup")
