"""canvas-session.js in Chromium, inside localorg's Lightning page: the app token lives in page memory only
(no cookie, storage or URL), travels as `Authorization: Bearer`, and is renewed from a signed request that
the parent page hands over through the Canvas SDK's postMessage protocol.

The SDK is the one the page loads from the org, as in Salesforce: localorg serves its own
/canvas/sdk/js/<version>/canvas-all.js (sfdx/localorg/canvas_sdk.py), nothing is faked in the browser."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import AuditEvent
from tests.browser.conftest import app_config, browser, inflow_server, inflow_url, live_app, page  # noqa: F401
from tests.browser.host import install_app, open_tab

pytestmark = pytest.mark.browser


def test_token_in_memory_sent_as_bearer_and_renewed_through_the_sdk(page, org, live_app, inflow_url):  # noqa: F811
    install_app(org, inflow_url)
    with page.expect_response(lambda r: r.url.startswith(f"{org.instance_url}/canvas/sdk/js/")) as sdk:
        frame = open_tab(page, org)
    assert sdk.value.ok  # the org's SDK, loaded by the canvas page
    frame.wait_for_function("() => window.Inflow && window.Inflow.token()")
    first = frame.evaluate("Inflow.token()")
    assert first.startswith("ift1.") and first not in frame.url
    # (cookies are per host, not port: localorg's own `sid` on 127.0.0.1 is there, and is not ours)
    cookies = page.context.cookies(inflow_url)
    assert not [c for c in cookies if "inflow" in c["name"].lower() or first in c["value"]]
    assert frame.evaluate("(() => { try { return localStorage.length + sessionStorage.length; }"
                          " catch (e) { return 0; } })()") == 0
    assert first not in frame.content()  # read, then dropped from the DOM

    with page.expect_request(lambda r: r.url == f"{inflow_url}/api/instances") as seen:
        assert frame.evaluate("Inflow.fetch('/api/instances').then(r => r.status)") == 200
    assert seen.value.all_headers()["authorization"] == f"Bearer {first}"

    frame.evaluate("window.heard = null; addEventListener('inflow:token', e => { window.heard = e.detail.token; })")
    frame.evaluate("Inflow.renew()")
    frame.wait_for_function("first => Inflow.token() !== first", arg=first)
    renewed = frame.evaluate("Inflow.token()")
    assert frame.evaluate("window.heard") == renewed
    assert frame.evaluate("typeof Sfdc.canvas.client.signedrequest()") == "string"  # refreshed by localorg's SDK
    with page.expect_request(lambda r: r.url == f"{inflow_url}/api/instances") as seen:
        assert frame.evaluate("Inflow.fetch('/api/instances').then(r => r.status)") == 200
    assert seen.value.all_headers()["authorization"] == f"Bearer {renewed}"
    launches = db.session.scalar(select(func.count()).where(AuditEvent.action == "canvas.launch"))
    assert launches == 2  # the tab's POST, then the renewal's fresh signed request
