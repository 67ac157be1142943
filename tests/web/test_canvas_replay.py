"""Canvas launches as real orgs send them: issuedAt is opaque, and replay is bounded by the envelope's OAuth
token, which Inflow confirms with the org (userinfo) before it issues an app session (issue 12)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import Account, AuditEvent, User
from backend.security.canvas import make_signed_request
from sfdx.localorg.pytest_plugin import sf_session  # noqa: F401
from tests.web.canvas_support import (
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


def _userinfo_calls(org) -> int:
    return org.extra.get("userinfo_calls", 0)


def _ended(resp) -> None:
    """The page a user sees for a token Salesforce no longer vouches for: 401, reload the tab, no token."""
    body = resp.get_data(as_text=True)
    assert resp.status_code == 401 and "Your Salesforce session has ended" in body and "Reload" in body
    assert "inflow-launch" not in body


@pytest.mark.parametrize("issued_at", [-1882588807, -1555461611, -246115464, 0, 1677461276])
def test_envelopes_with_the_issued_at_of_real_captures_open_inflow(client, sf_org, issued_at):
    resp = client.post("/canvas", data={"signed_request": signed(sf_org, issued_at=issued_at)})
    assert resp.status_code == 200
    token = boot_of(resp.get_data(as_text=True))["token"]
    assert client.get("/api/instances", headers=bearer(token)).status_code == 200
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "canvas.launch")).one()
    assert event.details["issued_at"] == str(issued_at)  # kept for the audit log, never judged


def test_issued_at_as_unix_time_three_hours_ago_is_ignored_too(client, sf_org):
    # The value decides nothing in either direction: a "stale" timestamp opens Inflow like any other.
    assert client.post("/canvas", data={"signed_request": signed(sf_org, issued_at=int(time.time()) - 3 * 3600)}
                       ).status_code == 200


def test_a_replayed_envelope_whose_token_was_revoked_is_refused(client, sf_org):
    env = envelope(sf_org)
    replay = make_signed_request(env, SECRET)
    assert sf_org.sessions.revoke(env["client"]["oauthToken"])  # logout / revocation in the org
    _ended(client.post("/canvas", data={"signed_request": replay}))
    assert db.session.scalar(select(func.count()).select_from(Account)) == 0  # nothing provisioned
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "canvas.rejected")).one()
    assert event.details["reason"].startswith("token not confirmed") and env["client"]["oauthToken"] not in str(
        event.details)
    renewal = client.post("/canvas/token", data={"signed_request": replay})
    assert renewal.status_code == 401 and "token" not in renewal.json


def test_an_expired_token_is_refused(client, sf_org):
    env = envelope(sf_org)
    sf_org.sessions.check(env["client"]["oauthToken"]).expires_at = time.time() - 1  # the session timed out
    _ended(client.post("/canvas", data={"signed_request": make_signed_request(env, SECRET)}))


def test_a_token_of_another_user_is_refused(client, sf_org):
    other = sf_org.create_user(f"u2@{sf_org.name}.localorg", "Two")
    env = envelope(sf_org)
    env["userId"] = env["context"]["user"]["userId"] = other  # signed, but the token is the admin's
    _ended(client.post("/canvas", data={"signed_request": make_signed_request(env, SECRET)}))
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_a_confirmed_token_is_cached_so_a_reload_is_no_round_trip(client, sf_org):
    request = signed(sf_org)
    before = _userinfo_calls(sf_org)
    assert client.post("/canvas", data={"signed_request": request}).status_code == 200
    assert _userinfo_calls(sf_org) == before + 1
    assert client.post("/canvas", data={"signed_request": request}).status_code == 200  # a reload of the tab
    assert client.post("/canvas/token", data={"signed_request": request}).status_code == 200
    assert _userinfo_calls(sf_org) == before + 1
    assert client.post("/canvas", data={"signed_request": signed(sf_org)}).status_code == 200  # a new token
    assert _userinfo_calls(sf_org) == before + 2


def test_after_disconnect_a_replayed_envelope_is_refused_at_once(client, sf_org, sf_session):  # noqa: F811
    replay = signed(sf_org)
    token = boot_of(client.post("/canvas", data={"signed_request": replay}).get_data(as_text=True))["token"]
    org_id = client.get("/api/instances", headers=bearer(token)).json[0]["id"]
    assert reauthenticate(client, sf_session, sf_org, token).status_code == 200  # Disconnect asks for it
    assert client.post(f"/api/instances/{org_id}/disconnect", headers=bearer(token)).status_code == 200
    # Disconnect revoked the stored tokens (the envelope's among them) and dropped the cached confirmation.
    _ended(client.post("/canvas", data={"signed_request": replay}))


def test_a_salesforce_outage_says_so_and_creates_nothing(client, sf_org, localorg):
    env = envelope(sf_org)
    env["client"]["instanceUrl"] = "https://127.0.0.1:9"  # nothing listens: the org cannot be asked
    resp = client.post("/canvas", data={"signed_request": make_signed_request(env, SECRET)})
    assert resp.status_code == 503 and "Salesforce did not answer" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Account)) == 0


def test_a_page_layout_launch_carries_environment_record(client, sf_org):
    env = envelope(sf_org)
    env["context"]["environment"].update(displayLocation="PageLayout", parameters={}, record={
        "attributes": {"type": "Account", "url": "/services/data/v66.0/sobjects/Account/001000000000001AAA"},
        "Id": "001000000000001AAA"})
    page = client.post("/canvas", data={"signed_request": make_signed_request(env, SECRET)})
    assert boot_of(page.get_data(as_text=True))["record_id"] == "001000000000001AAA"


def test_a_record_inflow_does_not_know_shows_an_empty_state(client, sf_org):
    account_id = sf_org.store.insert("Account", {"Name": "Acme"})
    token = launch(client, sf_org)
    for record_id in (account_id, "a0B000000000001AAA"):  # another object's record; an id of nothing
        resp = client.get(f"/ui/record/{record_id}", headers=bearer(token))
        assert resp.status_code == 200
        assert "No Inflow runs for this record" in resp.get_data(as_text=True)
