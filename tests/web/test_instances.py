"""Connected instances over real OAuth against localorg: connect (PKCE, state bound to the browser, signed
token response), list, refresh, disconnect (revoke + cancel runs), checklist items 7, 10 and 24."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from backend.errors import FatalSalesforceError
from backend.extensions import db
from backend.models import AuditEvent, Job, OrgConnection, Run
from backend.salesforce.oauth import OAuthFlowError, refresh_tokens, verified_grant
from backend.services import get_settings
from backend.web.instances import STOPPED
from tests.web.canvas_support import (
    CALLBACK,
    SECRET,
    bearer,
    canvas_config,
    install,
    launch,
    onward,
    reauthenticate,
)

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


@pytest.fixture
def home(org):  # noqa: F811
    install(org)
    return org


@pytest.fixture
def token(client, home) -> str:
    return launch(client, home)


def start_connect(client, token: str, kind: str, my_domain: str | None = None):
    resp = client.post("/api/instances/connect", json={"kind": kind, "my_domain": my_domain}, headers=bearer(token))
    assert resp.status_code == 201, resp.json
    start = client.post(resp.json["start_url"], data={"ticket": resp.json["ticket"]})
    # A page that moves on to Salesforce, not a redirect: CSP form-action 'self' also governs where a redirect
    # after the popup's form post leads, and Chromium left the popup blank.
    assert "__Host-inflow_oauth" in start.headers["Set-Cookie"] and "HttpOnly" in start.headers["Set-Cookie"]
    assert "Taking you to Salesforce" in start.get_data(as_text=True)
    return onward(start)


def consent(browser, authorize_url: str, decision: str = "allow", login=None) -> str:
    """What the user does at Salesforce: log in if asked (the login host serves many orgs), then press
    Allow (or Deny) on the consent page."""
    page = browser.get(authorize_url, timeout=30)
    assert page.status_code == 200, page.text
    fields = {name: html.unescape(value) for name, value in HIDDEN.findall(page.text)}
    if 'name="username"' in page.text:
        fields.update(username=login.admin_username, password=login.admin_password)
    parts = urlsplit(authorize_url)
    answer = browser.post(f"{parts.scheme}://{parts.netloc}/services/oauth2/authorize",
                             data={**fields, "action": decision}, allow_redirects=False, timeout=30)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(CALLBACK)
    return answer.headers["Location"]


def callback(client, location: str):
    parts = urlsplit(location)
    return client.get(f"{parts.path}?{parts.query}")


def connect(client, browser, token, kind, my_domain=None, login=None):
    return callback(client, consent(browser, start_connect(client, token, kind, my_domain), login=login))


@pytest.mark.promise("sign-in-oauth-or-hashed-passwords")
def test_connect_many_orgs_with_pkce_and_list_them(client, sf_session, token, home, make_org):  # noqa: F811
    others = [make_org(), make_org()]
    for other in others:
        install(other)
        authorize = start_connect(client, token, "mydomain", other.instance_url)
        query = parse_qs(urlsplit(authorize).query)
        assert authorize.startswith(other.instance_url + "/services/oauth2/authorize")
        assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
        assert query["redirect_uri"] == [CALLBACK] and query["state"][0]
        done = callback(client, consent(sf_session, authorize, login=other))
        assert done.status_code == 200 and "Connected" in done.get_data(as_text=True)
        assert "__Host-inflow_oauth=;" in done.headers["Set-Cookie"]  # the flow cookie is spent
    again = connect(client, sf_session, token, "production", login=home)  # the home org, via the login host
    assert again.status_code == 200
    listed = client.get("/api/instances", headers=bearer(token)).json
    assert sorted(i["org_id"] for i in listed) == sorted([home.id] + [o.id for o in others])
    assert {i["status"] for i in listed} == {"connected"} and all("token" not in str(i) for i in listed)
    by_org = {i["org_id"]: i for i in listed}
    assert by_org[others[0].id]["name"] == others[0].name and by_org[home.id]["login_host_kind"] == "production"
    for other in others:
        row = db.session.scalars(select(OrgConnection).where(OrgConnection.org_id == other.id)).one()
        assert other.sessions.check(row.get_secret("access_token")) is not None
        assert row.get_secret("refresh_token") in other.sessions.refresh_tokens
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "instance.connected")).all()) == 3
    page = client.get("/ui/instances", headers=bearer(token))  # the importer's screen over this API
    assert page.status_code == 200 and others[1].name in page.get_data(as_text=True)


def test_callback_in_another_browser_or_after_deny_stores_nothing(app, client, sf_session, token, home):  # noqa: F811
    location = consent(sf_session, start_connect(client, token, "production"), login=home)
    stranger = app.test_client()  # has not started this flow: no flow cookie
    assert callback(stranger, location).status_code == 400
    denied = callback(client, consent(sf_session, start_connect(client, token, "production"), decision="deny",
                                      login=home))
    assert denied.status_code == 403
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "instance.connected")).all() == []


def test_tickets_are_single_use_and_login_hosts_must_be_salesforce(client, token):
    resp = client.post("/api/instances/connect", json={"kind": "production"}, headers=bearer(token))
    assert client.post("/instances/oauth/start", data={"ticket": resp.json["ticket"]}).status_code == 200
    assert client.post("/instances/oauth/start", data={"ticket": resp.json["ticket"]}).status_code == 400
    for bad in ("https://evil.example", "http://acme.my.salesforce.com", "https://acme.my.salesforce.com/x?y",
                "https://user:pw@acme.my.salesforce.com", "javascript:alert(1)"):
        refused = client.post("/api/instances/connect", json={"kind": "mydomain", "my_domain": bad},
                              headers=bearer(token))
        assert refused.status_code == 400, bad
    assert client.get("/instances/oauth/start", query_string={"ticket": "x"}).status_code == 405  # POST only


@pytest.mark.promise("sign-in-oauth-or-hashed-passwords")
def test_token_response_signature_is_checked(app):
    settings = get_settings()
    import base64
    import hashlib
    import hmac

    ident, issued = "https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA", "1700000000000"
    sig = base64.b64encode(hmac.new(SECRET.encode(), (ident + issued).encode(), hashlib.sha256).digest()).decode()
    token = {"id": ident, "issued_at": issued, "signature": sig, "access_token": "00D!x",
             "instance_url": "https://acme.my.salesforce.com"}
    assert verified_grant(token, settings).org_id == "00D000000000001AAA"
    with pytest.raises(OAuthFlowError, match="signature"):  # someone swapped the identity for another org's
        verified_grant({**token, "id": ident.replace("001AAA/", "002AAA/")}, settings)
    with pytest.raises(OAuthFlowError, match="instance URL"):
        verified_grant({**token, "instance_url": "https://evil.example"}, settings)


def _connection(org) -> OrgConnection:  # noqa: F811
    return db.session.scalars(select(OrgConnection).where(OrgConnection.org_id == org.id)).one()


def test_refresh_tokens_renews_access_and_marks_refused_ones(client, home, token):
    conn = _connection(home)
    new_access = refresh_tokens(conn)
    db.session.commit()
    assert home.sessions.check(new_access) is not None and conn.get_secret("access_token") == new_access
    home.sessions.revoke(conn.get_secret("refresh_token"))
    with pytest.raises(FatalSalesforceError, match="reconnect"):
        refresh_tokens(conn)
    assert _connection(home).status == "needs_reconnect"


def test_a_tampered_ciphertext_means_needs_reconnect(client, home, token):
    conn = _connection(home)
    stored = conn.refresh_token
    conn.refresh_token = stored[:30] + ("A" if stored[30] != "A" else "B") + stored[31:]
    db.session.commit()
    with pytest.raises(FatalSalesforceError):
        refresh_tokens(conn)
    assert _connection(home).status == "needs_reconnect"


def _runs(conn: OrgConnection) -> dict[str, Run]:
    job = Job(account_id=conn.account_id, name="Contacts", object_name="Contact", operation="insert",
              org_connection_id=conn.id)
    db.session.add(job)
    db.session.flush()
    runs = {state: Run(account_id=conn.account_id, job_id=job.id, state=state)
            for state in ("queued", "running", "succeeded")}
    db.session.add_all(runs.values())
    db.session.commit()
    return runs


@pytest.mark.promise("disconnect-revokes")
def test_disconnect_revokes_deletes_tokens_and_stops_runs(client, sf_session, home, token, make_org):  # noqa: F811
    other = make_org()
    install(other)
    connect(client, sf_session, token, "mydomain", other.instance_url, login=other)
    conn = _connection(other)
    access, refresh = conn.get_secret("access_token"), conn.get_secret("refresh_token")
    runs = _runs(conn)
    assert reauthenticate(client, sf_session, home, token).status_code == 200
    resp = client.post(f"/api/instances/{conn.id}/disconnect", headers=bearer(token))
    assert resp.status_code == 200 and resp.json["revoked"] is True and resp.json["status"] == "disconnected"
    assert other.sessions.refresh_tokens[refresh].revoked and other.sessions.check(access) is None
    db.session.expire_all()
    conn = _connection(other)
    assert (conn.access_token, conn.refresh_token, conn.status) == (None, None, "disconnected")
    states = {name: db.session.get(Run, run.id) for name, run in runs.items()}
    assert states["queued"].state == "cancelled"
    assert states["running"].state == "cancelling" and states["running"].error_summary == STOPPED
    assert states["succeeded"].state == "succeeded"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "instance.disconnected")).one()
    assert event.target == conn.id and event.details["revoked"] is True
    assert client.get("/api/instances", headers=bearer(token)).status_code == 200  # launched from home, still fine
    assert client.get(f"/api/instances/{conn.id}/disconnect", headers=bearer(token)).status_code == 405


def test_disconnecting_the_launch_org_ends_the_pages_token_and_a_new_launch_does_not_reconnect(client, sf_session,
                                                                                              home, token):
    conn = _connection(home)
    assert reauthenticate(client, sf_session, home, token).status_code == 200
    answer = client.post(f"/api/instances/{conn.id}/disconnect", headers=bearer(token))
    assert answer.status_code == 200
    assert client.get("/api/instances", headers=bearer(token)).status_code == 401  # replay after Disconnect
    assert client.get("/api/instances", headers=bearer(answer.json["token"])).json[0]["current"] is False
    fresh = launch(client, home)  # opening the tab again does not undo an admin's Disconnect
    listed = client.get("/api/instances", headers=bearer(fresh)).json[0]
    assert (listed["status"], listed["status_label"]) == ("disconnected", "Disconnected: background access off")


def test_only_admins_connect_or_disconnect(client, home, token):
    user_token = launch(client, home, user_id=home.create_user("u@t.localorg", "User"))
    conn = _connection(home)
    assert client.post("/api/instances/connect", json={"kind": "production"},
                       headers=bearer(user_token)).status_code == 403
    assert client.post(f"/api/instances/{conn.id}/disconnect", headers=bearer(user_token)).status_code == 403
    assert client.get("/api/instances", headers=bearer(user_token)).status_code == 200
    assert _connection(home).status == "connected"


def test_login_hosts_per_kind(app):
    import dataclasses

    from backend.salesforce.oauth import login_url_for

    settings = dataclasses.replace(get_settings(), salesforce_login_url="https://login.salesforce.com",
                                   salesforce_sandbox_login_url="https://test.salesforce.com",
                                   egress_allow_loopback=False)
    assert login_url_for("production", None, settings) == "https://login.salesforce.com"
    assert login_url_for("sandbox", None, settings) == "https://test.salesforce.com"
    assert login_url_for("mydomain", "https://Acme--Dev.sandbox.my.salesforce.com/", settings) == \
        "https://acme--dev.sandbox.my.salesforce.com"
    for bad in ("https://127.0.0.1:8443", "https://login.salesforce.com.evil.example", "https://evilsalesforce.com"):
        with pytest.raises(ValueError):
            login_url_for("mydomain", bad, settings)
    with pytest.raises(ValueError):
        login_url_for("ftp", None, settings)
