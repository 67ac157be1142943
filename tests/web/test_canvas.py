"""POST /canvas: a verified signed request provisions the org's account here and hands the page an app token;
anything else is refused, audited and creates nothing (security checklist items 1-3)."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import Account, AuditEvent, OrgConnection, User
from backend.security.canvas import make_signed_request
from backend.security.crypto import key_id_of
from tests.web.canvas_support import (
    CLIENT_ID,
    SECRET,
    bearer,
    boot_of,
    canvas_config,
    envelope,
    install,
    launch,
    reauthenticate,
    signed,
)


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


@pytest.fixture
def sf_org(org):  # noqa: F811
    install(org)
    return org


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1:]


def test_first_launch_provisions_account_admin_and_org_here(client, sf_org):
    resp = client.post("/canvas", data={"signed_request": signed(sf_org)})
    assert resp.status_code == 200
    shell = boot_of(resp.get_data(as_text=True))
    assert shell["org"]["name"] == sf_org.name and shell["region"] == "eu-frankfurt"
    assert (shell["user"]["first_name"], shell["user"]["last_name"], shell["user"]["role"]) == ("Org", "Admin", "admin")
    account = db.session.scalars(select(Account)).one()
    assert (account.salesforce_org_id, account.region, account.company) == (sf_org.id, "eu-frankfurt", sf_org.name)
    user = db.session.scalars(select(User)).one()
    assert (user.role, user.salesforce_user_id, user.account_id) == ("admin", sf_org.admin_id, account.id)
    conn = db.session.scalars(select(OrgConnection)).one()
    assert (conn.org_id, conn.instance_url, conn.namespace_prefix, conn.status) == (
        sf_org.id, sf_org.instance_url, "inflow", "connected")
    token = conn.get_secret("access_token")
    assert sf_org.sessions.check(token) is not None  # the org's own token, stored encrypted
    assert token not in conn.access_token and key_id_of(conn.access_token)
    assert conn.get_secret("refresh_token") in sf_org.sessions.refresh_tokens
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "canvas.launch")).one()
    assert (event.account_id, event.user_id, event.details["first_launch"]) == (account.id, user.id, True)


def test_later_users_join_as_users_and_relaunch_updates_tokens(client, sf_org):
    launch(client, sf_org)
    other = sf_org.create_user("ada@t.localorg", "Lovelace", "Ada")
    launch(client, sf_org, user_id=other)
    launch(client, sf_org, user_id=other)
    assert _count(Account) == 1 and _count(OrgConnection) == 1
    roles = {u.salesforce_user_id: u.role for u in db.session.scalars(select(User))}
    assert roles == {sf_org.admin_id: "admin", other: "user"}


def test_page_token_works_as_bearer_and_is_only_in_page_memory(client, sf_org):
    resp = client.post("/canvas", data={"signed_request": signed(sf_org)})
    page = resp.get_data(as_text=True)
    boot = boot_of(page)
    assert page.count(boot["token"]) == 1  # once, in the boot data: no URL, link or form carries it
    assert "Set-Cookie" not in resp.headers
    assert 14 * 60 < boot["expires_at"] - time.time() <= 15 * 60
    assert f'<script src="{sf_org.instance_url}/canvas/sdk/js/66.0/canvas-all.js">' in page  # from the org
    assert '<script src="/static/js/canvas-session.js">' in page
    listed = client.get("/api/instances", headers=bearer(boot["token"]))
    assert listed.status_code == 200 and listed.json[0]["current"] is True
    assert client.get("/api/instances").status_code == 401
    assert client.get("/api/instances", headers=bearer(boot["token"] + "x")).status_code == 401


def test_token_renewal_from_a_fresh_signed_request(client, sf_org):
    launch(client, sf_org)
    resp = client.post("/canvas/token", data={"signed_request": signed(sf_org)})
    assert resp.status_code == 200
    assert client.get("/api/instances", headers=bearer(resp.json["token"])).status_code == 200
    refused = client.post("/canvas/token", data={"signed_request": _flip(signed(sf_org), 60)})
    assert refused.status_code == 401 and "token" not in refused.json


def _rejected(client, signed_request: str | None, method: str = "POST") -> None:
    data = {} if signed_request is None else {"signed_request": signed_request}
    resp = client.post("/canvas", data=data) if method == "POST" else client.get("/canvas", query_string=data)
    assert resp.status_code in (401, 405)
    assert resp.mimetype == "text/html" and "Open Inflow" in resp.get_data(as_text=True)
    assert "Set-Cookie" not in resp.headers
    assert (_count(Account), _count(User), _count(OrgConnection)) == (0, 0, 0)
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.created_at.desc())).first()
    assert event.action == "canvas.rejected" and event.ip == "127.0.0.1" and event.account_id is None
    if signed_request and len(signed_request) > 80:
        for part in (signed_request, signed_request.split(".")[0], signed_request.split(".")[1][:40]):
            assert part not in str(event.details) and part not in event.target


def test_one_flipped_byte_in_payload_or_signature_is_refused(client, sf_org):
    good = signed(sf_org)
    dot = good.index(".")
    _rejected(client, _flip(good, dot + 30))   # payload
    _rejected(client, _flip(good, 5))          # signature


def test_foreign_secret_wrong_algorithm_malformed_and_get_are_refused(client, sf_org):
    _rejected(client, signed(sf_org, secret="not-the-consumer-secret"))
    _rejected(client, signed(sf_org, algorithm="HMACSHA1"))
    for garbage in ("", "no-dot-at-all", "a.b", "%%%.%%%",
                    make_signed_request({"algorithm": "HMACSHA256"}, SECRET)):  # signed, but no org or user
        _rejected(client, garbage)
    _rejected(client, signed(sf_org), method="GET")  # a bearer credential is accepted by POST only
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "canvas.rejected")) == 8


def test_guest_and_portal_users_cannot_open_inflow(client, sf_org):
    resp = client.post("/canvas", data={"signed_request": signed(sf_org, user_type="GUEST")})
    assert resp.status_code == 403
    assert (_count(Account), _count(User), _count(OrgConnection)) == (0, 0, 0)


def test_url_safe_unpadded_signed_requests_are_accepted(client, sf_org):
    sig, env = signed(sf_org).split(".", 1)
    urlsafe = base64.urlsafe_b64encode(base64.b64decode(sig)).decode().rstrip("=")
    assert client.post("/canvas", data={"signed_request": f"{urlsafe}.{env}"}).status_code == 200


def test_a_taken_email_is_not_claimed_by_a_salesforce_user(client, sf_org, make_org):  # noqa: F811
    launch(client, sf_org)
    second = make_org()
    install(second)
    launch(client, second, email=f"admin@{sf_org.name}.localorg")
    emails = {u.salesforce_user_id: u.email for u in db.session.scalars(select(User))}
    assert emails[sf_org.admin_id] == f"admin@{sf_org.name}.localorg"
    assert emails[second.admin_id] == f"{second.admin_id}@{second.id}.salesforce.invalid".lower()
    assert _count(Account) == 2


def test_user_approval_get_starts_oauth_and_approved_page_reposts(client, sf_org, localorg):  # noqa: F811
    resp = client.get("/canvas", query_string={"_sfdc_canvas_authvalue": "user_approval_required"})
    assert resp.status_code == 302
    url = urlsplit(resp.headers["Location"])
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}" == localorg.base_url and url.path == "/services/oauth2/authorize"
    assert query["client_id"] == [CLIENT_ID] and query["redirect_uri"] == ["https://inflow.test/canvas/approved"]
    back = client.get("/canvas/approved", query_string={"code": "aPrxcode", "state": query["state"][0]})
    assert back.status_code == 200 and "canvas-approved.js" in back.get_data(as_text=True)
    assert f"{localorg.base_url}/canvas/sdk/js/" in back.get_data(as_text=True)
    assert client.get("/canvas/approved", query_string={"code": "x", "state": "forged"}).status_code == 400
    assert _count(Account) == 0


@pytest.mark.promise("aes256-at-rest-with-rotation")
def test_secrets_never_reach_the_database_in_clear(client, sf_org):
    """Checklist 8/9: no canary (raw, base64 or hex) in any column; every secret carries a key id."""
    env = envelope(sf_org)
    client.post("/canvas", data={"signed_request": make_signed_request(env, SECRET)})
    canaries = [env["client"]["oauthToken"], env["client"]["refreshToken"]]
    forms = [f(c) for c in canaries for f in (str, lambda c: base64.b64encode(c.encode()).decode(),
                                               lambda c: c.encode().hex())]
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            dump = str(tuple(row))
            assert not any(form in dump for form in forms), table.name
    conn = db.session.scalars(select(OrgConnection)).one()
    for column in ("access_token", "refresh_token"):
        value = getattr(conn, column)
        assert not value.startswith("gAAAA") and key_id_of(value)


def test_record_pages_pass_the_record_id_through_parameters(client, sf_org):
    env = envelope(sf_org)
    env["context"]["environment"]["parameters"] = {"recordId": "a01000000000001AAA"}
    page = client.post("/canvas", data={"signed_request": make_signed_request(env, SECRET)})
    assert boot_of(page.get_data(as_text=True))["record_id"] == "a01000000000001AAA"
    env["context"]["environment"]["parameters"] = {"recordId": "</script><script>alert(1)</script>"}
    page = client.post("/canvas", data={"signed_request": make_signed_request(env, SECRET)})
    assert boot_of(page.get_data(as_text=True))["record_id"] is None
    assert "<script>alert(1)" not in page.get_data(as_text=True)


def test_stored_tokens_stay_the_connecting_users(client, sf_org):
    """Imports run with the stored tokens: another user's launch must not swap in their (narrower) token."""
    launch(client, sf_org)
    conn = db.session.scalars(select(OrgConnection)).one()
    admin_access = conn.get_secret("access_token")
    other = sf_org.create_user("bo@t.localorg", "Other", "Bo")
    token = launch(client, sf_org, user_id=other)
    db.session.expire_all()
    conn = db.session.scalars(select(OrgConnection)).one()
    assert (conn.get_secret("access_token"), conn.connected_by) == (admin_access, sf_org.admin_id)
    assert client.get("/api/instances", headers=bearer(token)).json[0]["current"] is True


def test_a_disconnected_org_stays_disconnected_until_an_admin_reconnects_it_explicitly(client, sf_org, sf_session):
    admin_token = launch(client, sf_org)
    conn = db.session.scalars(select(OrgConnection)).one()
    reauthenticate(client, sf_session, sf_org, admin_token)
    gone = client.post(f"/api/instances/{conn.id}/disconnect", headers=bearer(admin_token))
    assert gone.status_code == 200 and gone.json["status_label"] == "Disconnected: background access off"
    page_token = gone.json["token"]  # the page opened from this org goes on, without the org
    assert client.get("/api/instances", headers=bearer(admin_token)).status_code == 401
    user_token = launch(client, sf_org, user_id=sf_org.create_user("cy@t.localorg", "User", "Cy"))
    listed = client.get("/api/instances", headers=bearer(user_token)).json  # the page still works...
    assert listed[0]["status"] == "disconnected" and listed[0]["current"] is False  # ...without the org
    reopened = launch(client, sf_org)  # the admin opens the tab again: still disconnected
    db.session.expire_all()
    assert db.session.scalars(select(OrgConnection)).one().status == "disconnected"
    shell = client.get("/ui/instances", headers=bearer(reopened)).get_data(as_text=True)
    assert "Disconnected: background access off" in shell and "data-reconnect=" in shell

    assert client.post(f"/api/instances/{conn.id}/reconnect", headers=bearer(user_token),
                       json={"signed_request": signed(sf_org)}).status_code == 403  # admins only
    assert client.post(f"/api/instances/{conn.id}/reconnect", headers=bearer(page_token),
                       json={"signed_request": "forged.x"}).status_code == 401
    back = client.post(f"/api/instances/{conn.id}/reconnect", headers=bearer(page_token),
                       json={"signed_request": signed(sf_org)})
    assert back.status_code == 200 and back.json["status_label"] == "Connected"
    db.session.expire_all()
    again = db.session.scalars(select(OrgConnection)).one()
    assert again.status == "connected" and again.get_secret("access_token")


def test_one_address_cannot_flood_the_audit_log_with_forgeries(client):
    statuses = [client.post("/canvas", data={"signed_request": f"forged.{n}"}).status_code for n in range(32)]
    assert statuses == [401] * 30 + [429, 429]
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "canvas.rejected")) == 30
