"""Lockout after repeated failures, per email and per IP, without telling whether the email exists."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.extensions import db
from backend.models import AuditEvent
from backend.security import ratelimit
from backend.services import get_redis
from tests.accounts_support import PASSWORD, Browser, app_config, log_in, sign_up, smtp  # noqa: F401


def test_hit_counts_within_a_window(app):
    conn = get_redis()
    limit = ratelimit.Limit("test", 3, 60)
    assert [ratelimit.hit(conn, limit, "k") for _ in range(4)] == [True, True, True, False]
    assert ratelimit.exceeded(conn, limit, "K ")  # keys are normalised
    assert 0 < ratelimit.retry_after(conn, limit, "k") <= 60
    ratelimit.reset(conn, limit, "k")
    assert not ratelimit.exceeded(conn, limit, "k")
    assert not any(b"k" == key.rsplit(b":", 1)[-1] for key in conn.keys("inflow:rl:*"))  # subjects hashed


def test_email_lockout_blocks_even_the_right_password_and_looks_the_same_for_unknown_emails(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    for n in range(5):
        attacker = Browser(client.application.test_client(), ip=f"198.51.100.{n + 20}")
        assert log_in(attacker, "ada@example.com", "wrong password guess").status_code == 401
        assert log_in(attacker, "ghost@example.com", "wrong password guess").status_code == 401
    late = Browser(client.application.test_client(), ip="198.51.100.99")
    locked_known = log_in(late, "ada@example.com", PASSWORD)
    locked_unknown = log_in(late, "ghost@example.com", PASSWORD)
    assert locked_known.status_code == locked_unknown.status_code == 429
    assert "Too many attempts" in locked_known.get_data(as_text=True)
    normalise = lambda r: r.get_data(as_text=True).replace("ghost@", "ada@")  # noqa: E731
    assert normalise(locked_known) == normalise(locked_unknown)
    failures = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "login.failed"))
    assert failures == 10
    # A password reset ends the lockout.
    ratelimit.reset(get_redis(), ratelimit.LOGIN_FAILURES_PER_EMAIL, "ada@example.com")
    assert log_in(late, "ada@example.com", PASSWORD).status_code == 303


def test_ip_lockout_stops_password_spraying(client, smtp):  # noqa: F811
    sprayer = Browser(client, ip="203.0.113.200")
    for n in range(30):
        assert log_in(sprayer, f"user{n}@example.com", "Winter2026!Winter").status_code == 401
    assert log_in(sprayer, "user99@example.com", "Winter2026!Winter").status_code == 429
    elsewhere = Browser(client.application.test_client(), ip="203.0.113.201")
    assert log_in(elsewhere, "user99@example.com", "Winter2026!Winter").status_code == 401


def test_password_reset_requests_are_limited_per_email(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    before = len(smtp.messages)
    for n in range(5):
        other = Browser(client.application.test_client(), ip=f"192.0.2.{n + 1}")
        response = other.submit("/password/forgot", "/password/forgot", {"email": "ada@example.com"})
        assert response.status_code == 200
    smtp.wait_for(before + 3)
    resets = [m for m in smtp.messages[before:] if "reset" in m["Subject"].lower()]
    assert len(resets) == 3  # the same page every time, but no more than 3 mails an hour
