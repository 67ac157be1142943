"""Connect Dropbox from the Connections screen in Chromium inside localorg's Lightning tab: the popup goes to
the provider (the HTTPS stand-in, which consents at once), comes back to Inflow's callback, tells the screen,
and the new connection is listed and previews a file; deleting it revokes the grant at the provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.connectors import stored
from backend.extensions import db
from backend.models.connections import Connection
from tests.browser.conftest import shot
from tests.browser.host import open_tab, screen
from tests.browser.test_importer import sf_org  # noqa: F401
from tests.connectors import oauth_standins


@pytest.fixture(scope="module")
def standins(localorg) -> Iterator[oauth_standins.Standins]:
    folder = Path(localorg.ca_path).parent
    with oauth_standins.standins(folder / "server.pem", folder / "server.key") as state:
        yield state


@pytest.fixture
def app_config(app_config, standins):
    return {**app_config, **standins.settings()}


def test_connect_dropbox_in_a_popup_lists_previews_and_delete_revokes(page, sf_org, standins):  # noqa: F811
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    frame.click("[data-nav='#/connections']")
    screen(frame, "connections")
    frame.fill("#oauth-name", "partner drop")
    frame.fill("#oauth-where", "/exports")
    with page.expect_popup() as opened:
        frame.click("button:has-text('Connect Dropbox')")
    popup = opened.value
    popup.wait_for_selector("#inflow-oauth-done:has-text('Dropbox connected')")  # it closes itself soon after
    frame.wait_for_selector("[data-screen=connections][data-ready] [data-connection]:has-text('partner drop')")
    db.session.expire_all()
    row = db.session.scalars(db.select(Connection)).one()
    refresh = stored.parameters(row)["refresh_token"]
    assert refresh not in frame.content()
    frame.click("[data-preview]")
    frame.fill("[data-what]", "people.csv")
    frame.click("[data-show]")
    frame.wait_for_selector("[data-rows] table, [data-result].slds-text-color_error")
    assert "Zoë Ångström" in frame.inner_text("[data-rows] table")
    shot(page, "41-connected-dropbox")
    frame.click("[data-delete]")
    frame.wait_for_selector("[data-screen=connections][data-ready]:has-text('No connection is saved yet')")
    assert refresh in standins.revoked
