"""Helpers for the canvas and instances tests: signed requests built like Salesforce's, app config, launches."""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urlsplit

from backend.security.canvas import make_signed_request
from backend.settings import SALESFORCE_FRAME_ANCESTORS

CLIENT_ID = "3MVG9InflowTestConsumerKeyForLocalorg"
SECRET = "C0FFEE" * 10 + "ABCD"
PUBLIC_URL = "https://inflow.test"
CALLBACK = PUBLIC_URL + "/instances/oauth/callback"
LOGIN_CALLBACK = PUBLIC_URL + "/login/salesforce/callback"
LOCAL_ANCESTORS = ("https://127.0.0.1:*",)


def canvas_config(app_config: dict, localorg: Any, monkeypatch: Any = None) -> dict:
    """The shared app config plus the packaged app's key/secret and localorg as Salesforce.

    Each test module that imports the localorg fixtures gets its own server with its own CA, and the
    session runs modules interleaved (SQLite, then PostgreSQL), so requests is pointed at this test's CA."""
    if monkeypatch is not None:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(localorg.ca_bundle))
    return {**app_config, "salesforce_client_id": CLIENT_ID, "salesforce_client_secret": SECRET,
            "salesforce_login_url": localorg.base_url, "salesforce_sandbox_login_url": localorg.base_url,
            "egress_allow_loopback": True, "public_url": PUBLIC_URL,
            "canvas_frame_ancestors": SALESFORCE_FRAME_ANCESTORS + LOCAL_ANCESTORS}


def install(org: Any) -> Any:
    """The packaged app as the org sees it: one consumer key and secret for every subscriber org."""
    return org.register_app("Inflow", [CALLBACK, PUBLIC_URL + "/canvas/approved", LOGIN_CALLBACK],
                            canvas_url=PUBLIC_URL + "/canvas", consumer_key=CLIENT_ID, consumer_secret=SECRET)


# issuedAt as real orgs send it (a v63 capture; see sfdx/localorg/README.md): opaque, negative, not a time.
REAL_ISSUED_AT = -246115464


def envelope(org: Any, user_id: str | None = None, *, issued_at: Any = REAL_ISSUED_AT, user_type: str = "STANDARD",
             email: str | None = None, refresh: bool = True, namespace: str = "inflow",
             algorithm: str = "HMACSHA256") -> dict[str, Any]:
    """A CanvasRequest shaped like the captured ones in the reference, with real localorg tokens."""
    user_id = user_id or org.admin_id
    user = org.store.get(user_id) or {}
    refresh_token = org.sessions.new_refresh_token(user_id, CLIENT_ID, "api refresh_token") if refresh else None
    access = org.sessions.issue(user_id, CLIENT_ID, "api refresh_token", refresh_token).token
    base = org.instance_url
    return {
        "algorithm": algorithm, "issuedAt": issued_at, "userId": user_id,
        "client": {"refreshToken": refresh_token, "instanceId": "_:Inflow:1:1;a:canvasapp",
                   "targetOrigin": base, "instanceUrl": base, "oauthToken": access},
        "context": {
            "user": {"userId": user_id, "userName": user.get("Username"), "firstName": user.get("FirstName") or "",
                     "lastName": user.get("LastName") or "", "email": email or user.get("Email"),
                     "userType": user_type, "profileId": "00e000000000001AAA", "locale": "en_US"},
            "links": {"loginUrl": base, "restUrl": "/services/data/v66.0/", "queryUrl": "/services/data/v66.0/query/"},
            "application": {"name": "Inflow", "canvasUrl": PUBLIC_URL + "/canvas", "namespace": namespace,
                            "authType": "SIGNED_REQUEST", "developerName": "Inflow"},
            "organization": {"organizationId": org.id, "name": org.name, "namespacePrefix": None},
            "environment": {"displayLocation": "Aura", "parameters": {}, "record": {},
                            "version": {"season": "SPRING", "api": "66.0"}},
        },
    }


def signed(org: Any, secret: str = SECRET, **kw: Any) -> str:
    return make_signed_request(envelope(org, **kw), secret)


BOOT = re.compile(r'<script type="application/json" id="inflow-launch">(.*?)</script>', re.S)


def boot_of(html: str) -> dict[str, Any]:
    match = BOOT.search(html)
    assert match, "the canvas page carries its launch data"
    return json.loads(match.group(1))


def launch(client: Any, org: Any, **kw: Any) -> str:
    """POST a signed request to /canvas like Salesforce does; returns the page's app token."""
    resp = client.post("/canvas", data={"signed_request": signed(org, **kw)})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return boot_of(resp.get_data(as_text=True))["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_in_at_salesforce(sf_session: Any, authorize_url: str, username: str, password: str) -> str:
    """What the user does at Salesforce when Inflow asks for prompt=login: type the username and password
    again, press Allow. Returns where Salesforce sends the browser back (Inflow's login callback)."""
    page = sf_session.get(authorize_url, timeout=30)
    assert page.status_code == 200 and 'name="password"' in page.text, page.text[:300]
    fields = {m[0]: html.unescape(m[1]) for m in re.findall(r'name="([^"]+)" value="([^"]*)"', page.text)}
    parts = urlsplit(authorize_url)
    back = sf_session.post(f"{parts.scheme}://{parts.netloc}/services/oauth2/authorize", data={
        **fields, "username": username, "password": password, "action": "allow"}, allow_redirects=False, timeout=30)
    assert back.status_code == 302 and back.headers["Location"].startswith(LOGIN_CALLBACK), back.text[:300]
    return back.headers["Location"]


def onward(start: Any) -> str:
    """Where the re-authentication's first page sends the popup (a page that moves on, not a redirect)."""
    assert start.status_code == 200, start.get_data(as_text=True)[:300]
    match = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', start.get_data(as_text=True))
    assert match, "the page moves on to Salesforce"
    return html.unescape(match.group(1))


def reauthenticate(client: Any, sf_session: Any, org: Any, token: str, username: str | None = None,
                   password: str | None = None) -> Any:
    """What the canvas page and its popup do when an action answers `reauth_required` with "salesforce":
    get a ticket with the app token, POST it into the popup, log in to Salesforce again. Returns the popup's
    last page."""
    ticket = client.post("/api/reauth/salesforce", headers=bearer(token))
    assert ticket.status_code == 201, ticket.get_data(as_text=True)
    authorize = onward(client.post(ticket.json["start_url"], data={"ticket": ticket.json["ticket"]}))
    assert "prompt=login" in authorize
    back = urlsplit(log_in_at_salesforce(sf_session, authorize, username or org.admin_username,
                                         password or org.admin_password))
    return client.get(f"{back.path}?{back.query}")
