"""Destructive actions re-authenticate: disconnecting an org and deleting the account need a password or a
fresh Salesforce login (prompt=login, same user and org) from the last five minutes, recorded server-side
for the one sign-in that gave it. Real OAuth against localorg over HTTPS, real routes."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import Account, AuditEvent, OrgConnection, User
from backend.security import passwords
from backend.services import get_redis
from backend.web.reauth import FRESH_SECONDS
from tests.accounts_support import Browser
from tests.web.canvas_support import (
    bearer,
    canvas_config,
    install,
    launch,
    log_in_at_salesforce,
    onward,
    reauthenticate,
)

PASSWORD = "a long passphrase of my own"  # pragma: allowlist secret


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


@pytest.fixture
def home(org):  # noqa: F811
    install(org)
    return org


def _org_row() -> OrgConnection:
    db.session.expire_all()
    return db.session.scalars(select(OrgConnection)).one()


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.created_at)))


@pytest.mark.promise("disconnect-revokes")
def test_disconnect_without_a_fresh_proof_is_refused_and_does_nothing(client, home):
    token = launch(client, home)
    conn = _org_row()
    refused = client.post(f"/api/instances/{conn.id}/disconnect", headers=bearer(token))
    assert refused.status_code == 403
    assert refused.json["error"] == "reauth_required" and refused.json["methods"] == ["salesforce"]
    assert refused.json["url"] == "/api/reauth/salesforce"
    conn = _org_row()
    assert conn.status == "connected" and conn.get_secret("access_token")
    assert "instance.disconnected" not in _actions()
    # A timestamp the client sends proves nothing: only the server's own record counts.
    spoofed = client.post(f"/api/instances/{conn.id}/disconnect", json={"reauthenticated_at": 9e12},
                          headers=bearer(token))
    assert spoofed.status_code == 403


def test_a_fresh_salesforce_login_of_the_same_user_lets_the_disconnect_proceed(client, home, sf_session):
    token = launch(client, home)
    conn = _org_row()
    before = set(home.sessions.sessions)
    done = reauthenticate(client, sf_session, home, token)
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and 'data-reauthenticated="yes"' in page
    assert "__Host-inflow_sflogin=;" in done.headers["Set-Cookie"]  # the flow cookie is cleared
    user = db.session.scalars(select(User)).one()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.reauthenticated")).one()
    assert (event.user_id, event.details) == (user.id, {"method": "salesforce"})
    issued = [s for key, s in home.sessions.sessions.items() if key not in before]
    assert issued and all(s.revoked for s in issued)  # the login proved who; its token is not kept
    ttl = [get_redis().ttl(k) for k in get_redis().scan_iter("inflow:reauth:*")]
    assert len(ttl) == 1 and 0 < ttl[0] <= FRESH_SECONDS  # the proof expires on its own
    resp = client.post(f"/api/instances/{conn.id}/disconnect", headers=bearer(token))
    assert resp.status_code == 200 and resp.json["status"] == "disconnected"


def test_the_proof_belongs_to_the_sign_in_that_gave_it(client, home, sf_session):
    token = launch(client, home)
    other_page = launch(client, home)  # the same user, another app token (another tab, or a stolen token)
    assert reauthenticate(client, sf_session, home, token).status_code == 200
    conn = _org_row()
    assert client.post(f"/api/instances/{conn.id}/disconnect", headers=bearer(other_page)).status_code == 403
    assert _org_row().status == "connected"


def test_a_salesforce_login_as_someone_else_proves_nothing(client, home, sf_session):
    token = launch(client, home)
    other = home.create_user("mallory@t.localorg", "Mallory", password="mallorys own password")
    done = reauthenticate(client, sf_session, home, token, username="mallory@t.localorg",
                          password="mallorys own password")  # pragma: allowlist secret
    assert done.status_code == 403 and "another user or org" in done.get_data(as_text=True)
    assert "auth.reauth_failed" in _actions() and "auth.reauthenticated" not in _actions()
    assert other  # a real user of the same org, just not this Inflow user
    conn = _org_row()
    assert client.post(f"/api/instances/{conn.id}/disconnect", headers=bearer(token)).status_code == 403


def test_a_ticket_is_single_use(client, home):
    token = launch(client, home)
    ticket = client.post("/api/reauth/salesforce", headers=bearer(token)).json
    assert client.post(ticket["start_url"], data={"ticket": ticket["ticket"]}).status_code == 200
    again = client.post(ticket["start_url"], data={"ticket": ticket["ticket"]})
    assert again.status_code == 400 and "Set-Cookie" not in again.headers
    assert client.post(ticket["start_url"], data={}).status_code == 400  # no ticket, no session


def _with_password(user_id: str) -> None:
    user = db.session.get(User, user_id)
    user.password_hash = passwords.hash_password(PASSWORD)
    user.email = "ada@example.com"
    db.session.commit()


def test_a_user_with_a_password_confirms_with_it(client, home):
    token = launch(client, home)
    _with_password(db.session.scalars(select(User.id)).one())
    conn = _org_row()
    refused = client.post(f"/api/instances/{conn.id}/disconnect", headers=bearer(token))
    assert refused.status_code == 403 and refused.json["methods"] == ["password"]
    assert refused.json["url"] == "/api/reauth/password"
    wrong = client.post("/api/reauth/password", json={"password": "not it"}, headers=bearer(token))
    assert wrong.status_code == 403 and wrong.json["error"] == "wrong_password"
    assert client.post(f"/api/instances/{conn.id}/disconnect", headers=bearer(token)).status_code == 403
    assert client.post("/api/reauth/salesforce", headers=bearer(token)).status_code == 400  # not this user's way
    right = client.post("/api/reauth/password", json={"password": PASSWORD}, headers=bearer(token))
    assert right.status_code == 200 and right.json["fresh_for"] == FRESH_SECONDS
    assert client.post(f"/api/instances/{conn.id}/disconnect", headers=bearer(token)).status_code == 200
    assert ["auth.reauth_failed", "auth.reauthenticated"] == [
        a for a in _actions() if a.startswith("auth.")]


def test_the_password_may_come_with_the_request(client, home):
    token = launch(client, home)
    _with_password(db.session.scalars(select(User.id)).one())
    conn = _org_row()
    resp = client.post(f"/api/instances/{conn.id}/disconnect", json={"password": PASSWORD}, headers=bearer(token))
    assert resp.status_code == 200


def test_password_guesses_count_toward_the_login_lockout(client, home):
    token = launch(client, home)
    _with_password(db.session.scalars(select(User.id)).one())
    for _ in range(5):
        client.post("/api/reauth/password", json={"password": "guess"}, headers=bearer(token))
    # Locked like the login form: even the right password is refused now.
    assert client.post("/api/reauth/password", json={"password": PASSWORD}, headers=bearer(token)).status_code == 403


def _salesforce_session(client, home, sf_session) -> Browser:
    """A canvas-provisioned admin (no password) signed in to the settings pages with "Log in with Salesforce"."""
    launch(client, home)
    browser = Browser(client)
    start = browser.submit("/login", "/login/salesforce", {"next": "/settings"})
    back = urlsplit(log_in_at_salesforce(sf_session, start.headers["Location"], home.admin_username,
                                         home.admin_password))
    assert browser.get(f"{back.path}?{back.query}").status_code == 303
    return browser


@pytest.mark.promise("gdpr-export-and-erasure")
def test_deleting_an_account_without_a_password_needs_a_fresh_salesforce_login(client, home, sf_session):
    browser = _salesforce_session(client, home, sf_session)
    company = db.session.scalars(select(Account.company)).one()
    user = db.session.scalars(select(User)).one()
    personal = [user.email, user.id, user.account_id, home.id, home.id[:15], home.admin_id[:15], company]
    page = browser.get("/settings").get_data(as_text=True)
    assert 'action="/reauth/salesforce/start"' in page and 'name="password"' not in page
    refused = browser.submit("/settings", "/settings/delete-account", {"confirm": company})
    assert refused.status_code == 403 and "Confirm it is you with Salesforce" in refused.get_data(as_text=True)
    as_json = browser.post("/settings/delete-account", {"confirm": company, "csrf_token": browser.csrf("/settings")},
                           headers={"Accept": "application/json"})
    assert as_json.status_code == 403 and as_json.json["methods"] == ["salesforce"]
    assert db.session.scalars(select(Account)).one() is not None

    start = browser.submit("/settings", "/reauth/salesforce/start", {})  # the settings page's Confirm button
    authorize = onward(start)
    assert "prompt=login" in authorize and "__Host-inflow_sflogin=" in start.headers["Set-Cookie"]
    back = urlsplit(log_in_at_salesforce(sf_session, authorize, home.admin_username, home.admin_password))
    assert browser.get(f"{back.path}?{back.query}").status_code == 200
    done = browser.submit("/settings", "/settings/delete-account", {"confirm": company})
    assert done.status_code == 200 and "have been deleted" in done.get_data(as_text=True)
    assert db.session.scalars(select(Account)).all() == []
    # The history stays (canvas launch, Salesforce login, re-authentication, deletion), without who it was.
    actions = _actions()
    assert {"canvas.launch", "login", "auth.reauthenticated", "account.deleted"} <= set(actions)
    dump = "\n".join(repr(tuple(row)) for table in db.metadata.sorted_tables
                     for row in db.session.execute(select(table)))
    assert not [p for p in personal if p in dump]


def test_the_settings_page_cannot_start_a_reauth_without_its_csrf_token(client, home, sf_session):
    browser = _salesforce_session(client, home, sf_session)
    assert browser.post("/reauth/salesforce/start", {}).status_code == 403
