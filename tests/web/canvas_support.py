"""Helpers for the canvas and instances tests: signed requests built like Salesforce's, app config, launches."""

from __future__ import annotations

import json
import re
from typing import Any

from backend.security.canvas import make_signed_request
from backend.settings import SALESFORCE_FRAME_ANCESTORS

CLIENT_ID = "3MVG9InflowTestConsumerKeyForLocalorg"
SECRET = "C0FFEE" * 10 + "ABCD"
PUBLIC_URL = "https://inflow.test"
CALLBACK = PUBLIC_URL + "/instances/oauth/callback"
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
    return org.register_app("Inflow", [CALLBACK, PUBLIC_URL + "/canvas/approved"],
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
