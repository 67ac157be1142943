"""Connect Dropbox and Google Sheets from the Connections page: ticket -> popup -> provider consent (PKCE) ->
callback -> connection saved with its tokens encrypted; an expired access token is refreshed and stored back;
delete revokes the grant at the provider; a callback this browser did not start is refused."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, text

from backend.connectors import stored
from backend.extensions import db
from backend.models import AuditEvent
from backend.models.base import TenantScope
from backend.models.connections import Connection
from sfdx.localorg.pytest_plugin import localorg, make_org, org, sf, sf_session  # noqa: F401
from tests.connectors import oauth_standins, servers
from tests.web.canvas_support import PUBLIC_URL, bearer, canvas_config, install, launch

HTTPS = {"base_url": "https://localhost"}


@pytest.fixture(scope="module")
def standins(localorg) -> Iterator[oauth_standins.Standins]:  # noqa: F811
    folder = Path(localorg.ca_path).parent
    with oauth_standins.standins(folder / "server.pem", folder / "server.key") as state:
        yield state


@pytest.fixture
def app_config(app_config, localorg, monkeypatch, standins):  # noqa: F811
    return {**canvas_config(app_config, localorg, monkeypatch), **standins.settings()}


@pytest.fixture
def session(client, org):  # noqa: F811
    install(org)
    return bearer(launch(client, org))


def _consent(start_page: str) -> str:
    """What the user does in the popup: the page moves on to the provider, who asks and is allowed; returns
    where the provider sends the browser back."""
    url = html.unescape(re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', start_page).group(1))
    query = oauth_standins.query_of(url)
    assert query["code_challenge_method"] == "S256" and query["code_challenge"] and query["state"]
    back = requests.get(url, allow_redirects=False, timeout=10)
    assert back.status_code == 302
    return back.headers["Location"]


def _connect(client, session, type_name: str, body: dict) -> tuple:
    answer = client.post(f"/api/connections/oauth/{type_name}", json=body, headers=session)
    assert answer.status_code == 201, answer.get_json()
    start = client.post("/connections/oauth/start", data={"ticket": answer.get_json()["ticket"]}, **HTTPS)
    assert start.status_code == 200 and "__Host-inflow_connect=" in start.headers["Set-Cookie"]
    back = _consent(start.get_data(as_text=True))
    assert back.startswith(f"{PUBLIC_URL}/connections/oauth/callback?")
    return client.get(back.removeprefix(PUBLIC_URL), **HTTPS), answer.get_json()["ticket"]


def _only_connection() -> Connection:
    return db.session.scalars(select(Connection)).one()


@pytest.mark.parametrize(("type_name", "body", "spec", "label"), [
    ("dropbox", {"name": "Partner drop", "path": "/exports"}, {"path": "people.csv"}, "Dropbox"),
    ("gsheets", {"name": "People sheet", "spreadsheet_id": oauth_standins.SPREADSHEET}, {"path": "people"},
     "Google Sheets"),
])
def test_connecting_stores_the_grant_encrypted_and_the_connection_reads(client, session, standins, type_name, body,
                                                                         spec, label):
    granted_before = set(standins.refresh)
    done, _ticket = _connect(client, session, type_name, body)
    assert done.status_code == 200 and f"{label} connected" in done.get_data(as_text=True)
    assert "__Host-inflow_connect=;" in done.headers["Set-Cookie"]  # the flow cookie is cleared
    row = _only_connection()
    assert (row.name, row.type) == (body["name"], type_name)
    (refresh,) = set(standins.refresh) - granted_before
    params = stored.parameters(row)
    assert params["refresh_token"] == refresh and params["access_token"]
    assert "client_secret" not in params and "token_url" not in params  # settings, never stored per connection
    raw = str(db.session.execute(text("SELECT parameters, details FROM connections")).all())
    assert refresh not in raw and params["access_token"] not in raw
    listed = client.get("/api/connections", headers=session).get_data(as_text=True)
    assert refresh not in listed and params["access_token"] not in listed
    created = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "connection.create")).one()
    assert created.target == row.id
    shown = client.post(f"/api/connections/{row.id}/preview", json=spec, headers=session).get_json()
    assert shown == {"columns": servers.COLUMNS, "rows": [list(r.values()) for r in servers.EXPECTED]}


def test_an_expired_access_token_is_refreshed_and_stored_back(client, session, standins):
    _connect(client, session, "dropbox", {"name": "Drop"})
    row = _only_connection()
    first = stored.parameters(row)["access_token"]
    refreshes = standins.calls.count("POST /oauth2/token")
    assert client.get(f"/api/connections/{row.id}/browse", headers=session).status_code == 200
    assert standins.calls.count("POST /oauth2/token") == refreshes  # a live token is used as it is
    stored.update(TenantScope(row.account_id), row, params={"expires_at": int(time.time()) - 10})
    db.session.commit()
    listed = client.get(f"/api/connections/{row.id}/browse", headers=session).get_json()
    assert "exports" in [e["name"] for e in listed]
    assert standins.calls.count("POST /oauth2/token") == refreshes + 1
    db.session.expire_all()
    params = stored.parameters(_only_connection())
    assert params["access_token"] != first and params["expires_at"] > time.time() + 3600
    assert params["access_token"] in standins.access


@pytest.mark.parametrize(("type_name", "body", "revoke_call"), [
    ("dropbox", {"name": "Drop"}, "POST /2/auth/token/revoke"),
    ("gsheets", {"name": "Sheet", "spreadsheet_id": oauth_standins.SPREADSHEET}, "POST /revoke"),
])
def test_delete_revokes_the_grant_at_the_provider(client, session, standins, type_name, body, revoke_call):
    _connect(client, session, type_name, body)
    row = _only_connection()
    refresh = stored.parameters(row)["refresh_token"]
    gone = client.delete(f"/api/connections/{row.id}", headers=session)
    assert gone.status_code == 200 and gone.get_json()["revoked"] is True
    assert revoke_call in standins.calls and refresh in standins.revoked and refresh not in standins.refresh
    assert db.session.scalars(select(Connection)).all() == []
    deleted = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "connection.delete")).one()
    assert deleted.details["revoked"] is True


def test_a_callback_this_browser_did_not_start_or_with_another_state_is_refused(client, session, standins):
    answer = client.post("/api/connections/oauth/dropbox", json={"name": "Drop"}, headers=session).get_json()
    start = client.post("/connections/oauth/start", data={"ticket": answer["ticket"]}, **HTTPS)
    back = _consent(start.get_data(as_text=True)).removeprefix(PUBLIC_URL)
    forged = re.sub(r"state=[^&]+", "state=forged", back)
    refused = client.get(forged, **HTTPS)
    assert refused.status_code == 400 and "did not start in this browser" in refused.get_data(as_text=True)
    other_browser = client.application.test_client()
    assert other_browser.get(back, **HTTPS).status_code == 400
    assert db.session.scalars(select(Connection)).all() == []
    again = client.post("/connections/oauth/start", data={"ticket": answer["ticket"]}, **HTTPS)
    assert again.status_code == 400 and "expired" in again.get_data(as_text=True)  # a ticket works once


def test_only_oauth_types_and_a_free_name_start_a_flow(client, session):
    assert client.post("/api/connections/oauth/postgresql", json={"name": "x"}, headers=session).status_code == 404
    assert client.post("/api/connections/oauth/dropbox", json={"name": ""}, headers=session).status_code == 400


def test_deleting_the_account_revokes_every_grant_its_connections_hold(client, session, standins):
    _connect(client, session, "dropbox", {"name": "Drop"})
    _connect(client, session, "gsheets", {"name": "Sheet", "spreadsheet_id": oauth_standins.SPREADSHEET})
    rows = db.session.scalars(select(Connection)).all()
    grants = [stored.parameters(r)["refresh_token"] for r in rows]
    assert stored.revoke_all(TenantScope(rows[0].account_id), allow_loopback=True) == (2, 0)
    assert all(g in standins.revoked for g in grants)
