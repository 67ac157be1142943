"""CSRF: cookie-authenticated unsafe requests need this session's token; bearer requests are exempt;
mutating routes do not answer GET."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed, NotFound

from backend.extensions import db
from backend.models import Account
from backend.security import sessions
from tests.accounts_support import Browser, app_config, log_in, sign_up, smtp  # noqa: F401


def _retention() -> int:
    db.session.expire_all()
    return db.session.scalars(select(Account.retention_days).where(Account.company == "Acme")).one()


def test_cookie_request_without_or_with_a_foreign_token_is_refused(client, smtp):  # noqa: F811
    victim = Browser(client)
    sign_up(victim, smtp)
    attacker = Browser(client.application.test_client(), ip="203.0.113.66")
    sign_up(attacker, smtp, "mallory@evil.example", company="Evil")
    foreign = attacker.csrf("/settings")

    assert victim.post("/settings/retention", {"retention_days": "1"}).status_code == 403
    assert victim.post("/settings/retention", {"retention_days": "1", "csrf_token": foreign}).status_code == 403
    assert victim.post("/settings/retention", {"retention_days": "1", "csrf_token": ""}).status_code == 403
    assert _retention() == 14
    # The anonymous double-submit token is not a session token either.
    anon = Browser(client.application.test_client()).csrf("/login")
    assert victim.post("/settings/retention", {"retention_days": "1", "csrf_token": anon}).status_code == 403
    assert victim.submit("/settings", "/settings/retention", {"retention_days": "1"}).status_code == 303
    assert _retention() == 1


def test_header_token_works_for_scripts(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    token = browser.csrf("/settings")
    response = browser.post("/settings/retention", {"retention_days": "2"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 303 and _retention() == 2


def test_token_is_bound_to_the_session_and_changes_at_login(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    before = browser.csrf("/settings")
    log_in(browser, "ada@example.com")
    assert browser.post("/settings/retention", {"retention_days": "3", "csrf_token": before}).status_code == 403


def test_login_form_needs_its_double_submit_token(client, smtp):  # noqa: F811
    """Login CSRF: a cross-site form cannot sign the victim into the attacker's account."""
    browser = Browser(client)
    sign_up(browser, smtp)
    fresh = Browser(client.application.test_client())
    response = fresh.post("/login", {"email": "ada@example.com", "password": "correct horse battery staple"})
    assert response.status_code == 403 and fresh.cookie(sessions.COOKIE_NAME) is None
    # pragma: allowlist nextline secret
    forged = fresh.post("/login", {"email": "ada@example.com", "password": "correct horse battery staple",
                                   "csrf_token": "attacker-chosen"})
    assert forged.status_code == 403


def test_anonymous_csrf_cookie_is_host_prefixed_and_secure(client):
    browser = Browser(client)
    browser.get("/login")
    cookie = browser.cookie("__Host-inflow_csrf")
    assert cookie.secure and cookie.http_only and cookie.path == "/" and cookie.same_site == "Lax"


def test_bearer_requests_are_not_subject_to_cookie_csrf(client, smtp):  # noqa: F811
    """A request with an Authorization header is judged by it alone: no cookie identity, no CSRF step."""
    browser = Browser(client)
    sign_up(browser, smtp)
    response = browser.post("/settings/retention", {"retention_days": "4"},
                            headers={"Authorization": "Bearer not-a-valid-app-token"})
    assert response.status_code == 401  # the cookie does not rescue a bad bearer token
    assert _retention() == 14


def test_mutating_routes_refuse_get(app, client):
    """No POST-only view can be reached by GET: 405, or the URL belongs to a separate read-only view."""
    adapter = app.url_map.bind("localhost", url_scheme="https")
    browser = Browser(client)
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or "GET" in rule.methods:
            continue
        path = rule.rule.replace("<", "").replace(">", "").replace("path:", "")
        try:
            endpoint, _ = adapter.match(path, method="GET")
        except MethodNotAllowed:
            assert browser.get(path).status_code == 405, path
            continue
        except NotFound:
            continue
        assert endpoint != rule.endpoint, path
