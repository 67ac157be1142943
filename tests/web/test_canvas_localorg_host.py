"""Through localorg's Lightning stand-in: the tab and record pages sign requests with the org's own canvas
code (not ours), the page's refresh endpoint renews them, and self-authorize starts with a GET."""

from __future__ import annotations

import base64
import html
import json
import re
import time
from urllib.parse import urlsplit

import pytest

from sfdx.localorg.canvas import register_canvas_app
from tests.web.canvas_support import CALLBACK, CLIENT_ID, PUBLIC_URL, SECRET, bearer, boot_of, canvas_config

SIGNED = re.compile(r'name="signed_request" value="([^"]*)"')
CONFIG = re.compile(r'<script type="application/json" id="canvas-config">(.*?)</script>', re.S)
IFRAME = re.compile(r'<iframe name="canvas-frame-[^"]*"[^>]*src="([^"]*)"')


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


def _install(org, approval_required: bool = False):  # noqa: F811
    return register_canvas_app(org, "Inflow", PUBLIC_URL + "/canvas", tab="Inflow", namespace="inflow",
                               developer_name="Inflow", approval_required=approval_required,
                               callback_urls=[CALLBACK, PUBLIC_URL + "/canvas/approved"],
                               consumer_key=CLIENT_ID, consumer_secret=SECRET,
                               scopes=["api", "refresh_token", "web", "id"])


def _open(browser, org, path: str) -> str:  # noqa: F811
    """Sign in to the org as its admin and open a Lightning page, as a user clicking the tab would."""
    page = browser.get(f"{org.instance_url}/secur/frontdoor.jsp", params={"sid": org.ready_token, "retURL": path},
                       timeout=30)
    assert page.status_code == 200, page.text[:300]
    return page.text


def _signed(page: str) -> str:
    match = SIGNED.search(page)
    assert match and match.group(1), "the Lightning page posts a signed request into the canvas frame"
    return html.unescape(match.group(1))


def test_tab_page_launches_inflow_and_its_refresh_renews_the_token(client, sf_session, org):  # noqa: F811
    _install(org)
    page = _open(sf_session, org, "/lightning/n/Inflow")
    assert f'action="{PUBLIC_URL}/canvas' in page
    shell = client.post("/canvas", data={"signed_request": _signed(page)})
    assert shell.status_code == 200
    launch = boot_of(shell.get_data(as_text=True))
    assert launch["org"]["org_id"] == org.id and launch["user"]["role"] == "admin"
    assert client.get("/api/instances", headers=bearer(launch["token"])).status_code == 200
    config = json.loads(html.unescape(CONFIG.search(page).group(1)))
    fresh = sf_session.post(f"{org.instance_url}{urlsplit(config['refreshUrl']).path}",
                            headers={"X-Canvas-Page-Token": config["pageToken"]}, timeout=30)
    assert fresh.status_code == 200
    renewed = client.post("/canvas/token", data={"signed_request": fresh.text.strip()})
    assert renewed.status_code == 200 and renewed.json["token"] != launch["token"]
    assert client.get("/api/instances", headers=bearer(renewed.json["token"])).status_code == 200


def test_refresh_works_after_the_first_envelopes_token_expired(client, sf_session, org):  # noqa: F811
    _install(org)
    page = _open(sf_session, org, "/lightning/n/Inflow")
    first = _signed(page)
    assert client.post("/canvas", data={"signed_request": first}).status_code == 200
    token = json.loads(base64.b64decode(first.split(".", 1)[1]))["client"]["oauthToken"]
    org.sessions.check(token).expires_at = time.time() - 1  # two hours later: the session behind it ended
    config = json.loads(html.unescape(CONFIG.search(page).group(1)))
    fresh = sf_session.post(f"{org.instance_url}{urlsplit(config['refreshUrl']).path}",
                            headers={"X-Canvas-Page-Token": config["pageToken"]}, timeout=30)
    renewed = client.post("/canvas/token", data={"signed_request": fresh.text.strip()})
    assert renewed.status_code == 200  # refreshSignedRequest: a new envelope with a live token
    assert client.get("/api/instances", headers=bearer(renewed.json["token"])).status_code == 200
    repost = client.post("/canvas", data={"signed_request": fresh.text.strip()})  # repost(true) posts it again
    assert repost.status_code == 200 and boot_of(repost.get_data(as_text=True))["token"]


def test_record_page_passes_its_record_id(client, sf_session, org):  # noqa: F811
    _install(org)
    account_id = org.store.insert("Account", {"Name": "Acme"})
    page = _open(sf_session, org, f"/lightning/r/Account/{account_id}/view")
    shell = client.post("/canvas", data={"signed_request": _signed(page)})
    assert boot_of(shell.get_data(as_text=True))["record_id"] == account_id


def test_self_authorize_starts_with_a_get_and_posts_after_approval(client, sf_session, org, localorg):  # noqa: F811
    _install(org, approval_required=True)
    page = _open(sf_session, org, "/lightning/n/Inflow")
    assert not SIGNED.search(page).group(1)  # no signed request until the user approves
    src = urlsplit(html.unescape(IFRAME.search(page).group(1)))
    start = client.get(f"{src.path}?{src.query}")
    assert start.status_code == 302 and start.headers["Location"].startswith(localorg.base_url)
    consent = sf_session.get(start.headers["Location"], timeout=30)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', consent.text))
    answer = sf_session.post(f"{localorg.base_url}/services/oauth2/authorize",
                             data={**{k: html.unescape(v) for k, v in fields.items()}, "action": "allow"},
                             allow_redirects=False, timeout=30)
    back = urlsplit(answer.headers["Location"])
    approved = client.get(f"{back.path}?{back.query}")
    assert approved.status_code == 200 and "canvas-approved.js" in approved.get_data(as_text=True)
    again = _open(sf_session, org, "/lightning/n/Inflow")  # what repost(true) leads to
    assert client.post("/canvas", data={"signed_request": _signed(again)}).status_code == 200
