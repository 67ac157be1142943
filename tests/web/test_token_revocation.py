"""Logout and Disconnect end app tokens at once (issue 14): revoked ids and "not before" times in Redis,
checked on every Bearer request; other users' tokens keep working."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import AuditEvent, OrgConnection
from backend.security import revocation, sessions
from backend.security.tokens import read_app_token
from backend.services import get_keyring, get_redis, get_settings
from sfdx.localorg.pytest_plugin import localorg, make_org, org  # noqa: F401
from tests.web.canvas_support import bearer, canvas_config, install, launch, reauthenticate

HTTPS = "https://localhost"


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


@pytest.fixture
def home(org):  # noqa: F811
    install(org)
    return org


def works(client, token: str) -> int:
    return client.get("/api/instances", headers=bearer(token)).status_code


def cookie_session_for(client, token: str) -> sessions.Session:
    """A browser signed in (cookie) as the same Inflow user the canvas token acts for."""
    claims = read_app_token(get_keyring(), token)
    value, session = sessions.create(get_redis(), get_settings(), claims.user_id, claims.account_id)
    client.set_cookie(sessions.COOKIE_NAME, value, domain="localhost", secure=True)
    return session


def test_a_token_used_after_logout_from_the_canvas_page_gets_401(client, home):
    token = launch(client, home)
    other_user = launch(client, home, user_id=home.create_user("u@t.localorg", "User"))
    assert works(client, token) == 200
    answer = client.post("/logout", headers=bearer(token))
    assert answer.status_code == 204
    assert works(client, token) == 401
    assert client.post("/logout", headers=bearer(token)).status_code == 401  # once ended, always ended
    assert works(client, other_user) == 200  # an unrelated user's token still works
    assert works(client, launch(client, home)) == 200  # a new launch signs the user in again
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "logout")).one()
    assert event.details["via"] == "bearer"


def test_cookie_logout_ends_every_app_token_of_the_user_issued_before(client, home):
    first, copied = launch(client, home), launch(client, home)  # two tabs, or a token copied elsewhere
    other_user = launch(client, home, user_id=home.create_user("u@t.localorg", "User"))
    session = cookie_session_for(client, first)
    assert client.get("/api/instances", base_url=HTTPS).status_code == 200
    answer = client.post("/logout", base_url=HTTPS, headers={"X-CSRF-Token": session.csrf_token})
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    assert works(client, first) == 401 and works(client, copied) == 401
    assert works(client, other_user) == 200
    assert client.get("/api/instances", base_url=HTTPS).status_code == 401  # the cookie session ended too
    assert works(client, launch(client, home)) == 200  # issued after the logout: valid


def test_after_disconnect_the_launchs_token_stays_refused_even_once_reconnected(client, home, make_org,  # noqa: F811
                                                                               sf_session):  # noqa: F811
    token = launch(client, home)
    stranger_org = make_org()
    install(stranger_org)
    stranger = launch(client, stranger_org)  # another account altogether
    conn = db.session.scalars(select(OrgConnection).where(OrgConnection.org_id == home.id)).one()
    assert reauthenticate(client, sf_session, home, token).status_code == 200  # Disconnect asks for it
    assert client.post(f"/api/instances/{conn.id}/disconnect", headers=bearer(token)).status_code == 200
    assert works(client, token) == 401
    fresh = launch(client, home)  # an admin's launch reconnects the same org connection
    assert db.session.get(OrgConnection, conn.id) is not None and works(client, fresh) == 200
    assert works(client, token) == 401  # the reconnect does not bring the old token back
    assert works(client, stranger) == 200


def test_revocation_entries_last_only_as_long_as_the_tokens_they_refuse(app, client, home):
    claims = read_app_token(get_keyring(), launch(client, home))
    other = read_app_token(get_keyring(), launch(client, home, user_id=home.create_user("u@t.localorg", "User")))
    conn, life = get_redis(), get_settings().app_token_minutes * 60
    revocation.revoke(conn, claims)
    revocation.end_user_tokens(conn, claims.user_id, life)
    revocation.end_org_tokens(conn, claims.org_connection_id, life)
    assert 0 < conn.ttl(revocation.REVOKED + claims.token_id) <= life
    assert 0 < conn.ttl(revocation.USER_NOT_BEFORE + claims.user_id) <= life + 1
    assert 0 < conn.ttl(revocation.ORG_NOT_BEFORE + claims.org_connection_id) <= life + 1
    assert revocation.is_ended(conn, claims)
    conn.delete(revocation.ORG_NOT_BEFORE + claims.org_connection_id)
    assert not revocation.is_ended(conn, other)  # same org, but its Disconnect entry is gone: only the user's
