"""Opening Inflow the way a user does: log in to localorg, open its Lightning tab or a record page, whose
script POSTs a real signed request into the canvas iframe. Helpers return the iframe's Playwright Frame."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from playwright.sync_api import Frame, Page

from sfdx.localorg.canvas import register_canvas_app
from tests.web.canvas_support import CLIENT_ID, SECRET

TAB = "Inflow"
NAMESPACE = "inflow"


def install_app(org: Any, inflow_url: str) -> Any:
    """The packaged canvas app as localorg knows it, pointing at this test's Inflow server."""
    return register_canvas_app(org, "Inflow", f"{inflow_url}/canvas", tab=TAB, namespace=NAMESPACE,
                               developer_name="Inflow", consumer_key=CLIENT_ID, consumer_secret=SECRET,
                               callback_urls=[f"{inflow_url}/instances/oauth/callback",
                                              f"{inflow_url}/login/salesforce/callback"])


def frontdoor(org: Any, path: str) -> str:
    return f"{org.instance_url}/secur/frontdoor.jsp?sid={quote(org.ready_token, safe='')}&retURL={quote(path)}"


def canvas_frame(page: Page) -> Frame:
    handle = page.wait_for_selector("#canvas-frame")
    frame = handle.content_frame()
    assert frame is not None
    return frame


def open_tab(page: Page, org: Any) -> Frame:
    """Log in as the org's admin and open the Inflow tab."""
    page.goto(frontdoor(org, f"/lightning/n/{TAB}"))
    return canvas_frame(page)


def open_record(page: Page, org: Any, sobject: str, record_id: str) -> Frame:
    """A record page with the canvas (recordId and sObjectName in environment.parameters)."""
    page.goto(frontdoor(org, f"/lightning/r/{sobject}/{record_id}/view"))
    return canvas_frame(page)


def screen(frame: Frame, name: str) -> None:
    """Wait until a screen of the importer is shown and wired."""
    frame.wait_for_selector(f"[data-screen={name}][data-ready]")
