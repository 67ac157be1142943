"""Over real HTTP with every logger at DEBUG: no app token, Salesforce token or signed request reaches the
logs (checklist items 3, 8 and 13 for the canvas half), however the requests went."""

from __future__ import annotations

import html
import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from backend.extensions import db
from backend.models import OrgConnection
from backend.salesforce.oauth import refresh_tokens
from backend.security.canvas import make_signed_request
from tests.web.canvas_support import SECRET, boot_of, canvas_config, envelope, install, log_in_at_salesforce


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


@pytest.mark.promise("secrets-never-logged")
def test_no_token_or_signed_request_is_logged(app, live_server, org, sf_session, caplog):  # noqa: F811
    install(org)
    caplog.set_level(logging.DEBUG)
    env = envelope(org)
    signed_request = make_signed_request(env, SECRET)
    page = requests.post(f"{live_server}/canvas", data={"signed_request": signed_request}, timeout=30)
    token = boot_of(page.text)["token"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = requests.get(f"{live_server}/api/instances", headers=headers, timeout=30).json()
    renewed = requests.post(f"{live_server}/canvas/token", data={"signed_request": signed_request}, timeout=30)
    requests.post(f"{live_server}/canvas", data={"signed_request": signed_request[:-4] + "AAAA"}, timeout=30)
    conn = db.session.get(OrgConnection, listed[0]["id"])
    new_access = refresh_tokens(conn)
    back = _reauthenticate(live_server, headers, org, sf_session)
    gone = requests.post(f"{live_server}/api/instances/{listed[0]['id']}/disconnect", headers=headers, timeout=30)
    assert gone.status_code == 200
    code = parse_qs(urlsplit(back).query)["code"][0]
    secrets = [token, renewed.json()["token"], env["client"]["oauthToken"], env["client"]["refreshToken"],
               new_access, signed_request, signed_request.split(".")[0], signed_request.split(".")[1][:64], code]
    assert any("/api/instances" in r.getMessage() for r in caplog.records)  # the logs were captured
    for record in caplog.records:
        text = record.getMessage()
        assert not any(secret in text for secret in secrets), text[:200]


def _reauthenticate(live_server: str, headers: dict, org, sf_session) -> str:
    """Disconnect asks for a fresh Salesforce login first: the popup's requests, over real HTTP. The flow
    cookie is Secure, which requests keeps off plain HTTP, so it is carried by hand."""
    ticket = requests.post(f"{live_server}/api/reauth/salesforce", headers=headers, timeout=30).json()
    start = requests.post(f"{live_server}{ticket['start_url']}", data={"ticket": ticket["ticket"]},
                          allow_redirects=False, timeout=30)
    flow = {"__Host-inflow_sflogin": start.cookies["__Host-inflow_sflogin"]}
    authorize = html.unescape(re.search(r'content="0;url=([^"]+)"', start.text).group(1))
    back = log_in_at_salesforce(sf_session, authorize, org.admin_username, org.admin_password)
    parts = urlsplit(back)
    done = requests.get(f"{live_server}{parts.path}?{parts.query}", cookies=flow, timeout=30)
    assert done.status_code == 200, done.text[:300]
    return back
