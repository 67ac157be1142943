"""The audit log says who did what, when and from where, and never carries content: no passwords, tokens,
session ids or email bodies in audit details or in the application's logs."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import AuditEvent
from backend.security import sessions
from tests.accounts_support import PASSWORD, Browser, app_config, log_in, sign_up, smtp  # noqa: F401

NEW_PASSWORD = "the second long passphrase"
INVITE_PASSWORD = "invited users own passphrase"


@pytest.mark.promise("audit-trail")
def test_account_flows_are_audited_without_content(client, smtp, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    admin = Browser(client)
    sign_up(admin, smtp)
    secrets_seen = {PASSWORD, NEW_PASSWORD, INVITE_PASSWORD, "wrong password attempt",
                    admin.cookie(sessions.COOKIE_NAME).value, admin.csrf("/settings")}
    log_in(admin, "ada@example.com", "wrong password attempt")
    admin.submit("/password/forgot", "/password/forgot", {"email": "ada@example.com"})
    smtp.wait_for(2)
    reset_token = smtp.link("ada@example.com", "/password/reset")
    admin.submit(f"/password/reset?token={reset_token}", "/password/reset",
                 {"token": reset_token, "password": NEW_PASSWORD})
    admin.submit("/settings", "/settings/retention", {"retention_days": "7"})
    admin.submit("/settings", "/settings/invite", {"email": "bob@example.com", "role": "user"})
    smtp.wait_for(3)
    invite_token = smtp.link("bob@example.com", "/invite/accept")
    bob = Browser(client.application.test_client(), ip="192.0.2.44")
    bob.submit(f"/invite/accept?token={invite_token}", "/invite/accept",
               {"token": invite_token, "password": INVITE_PASSWORD})
    secrets_seen |= {reset_token, invite_token, admin.cookie(sessions.COOKIE_NAME).value,
                     bob.cookie(sessions.COOKIE_NAME).value}
    admin.submit("/settings", "/settings/export", {})
    admin.submit("/login", "/logout", {})
    log_in(admin, "ada@example.com", NEW_PASSWORD)
    kept = db.session.scalars(select(AuditEvent).order_by(AuditEvent.created_at)).all()
    actions = [e.action for e in kept]
    for expected in ("signup", "email.verified", "login.failed", "password.reset_requested", "password.reset",
                     "retention.changed", "user.invited", "invite.accepted", "data.exported", "logout", "login"):
        assert expected in actions, expected
    assert all(e.ip and e.created_at and (e.user_id or e.action == "login.failed") for e in kept)
    history = [[e.action, e.target, e.ip, e.details] for e in kept]  # read now: the deletion detaches them
    admin.submit("/settings", "/settings/delete-account", {"confirm": "Acme", "password": NEW_PASSWORD})
    bodies = [m.get_content() for m in smtp.messages]

    # The account's history stays, and the deletion joins it, pseudonymous: who, what and when, no address.
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.created_at)).all()
    deleted = events[-1]
    assert deleted.action == "account.deleted" and deleted.ip == "" and deleted.user_id.startswith("p")
    assert deleted.created_at is not None and deleted.target
    assert [e.action for e in events[:len(history)]] == [action for action, *_ in history]

    stored = json.dumps(history + [[e.action, e.target, e.ip, e.details] for e in events])
    # Everything logged in this process except the test's own SMTP server (aiosmtpd logs what it receives).
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in ours)
    assert any(r.name.startswith("backend") for r in ours)
    for secret in secrets_seen:
        assert secret not in stored and secret not in logged
    for body in bodies:
        for line in filter(None, (ln.strip() for ln in body.splitlines())):
            if len(line) > 30:
                assert line not in stored and line not in logged
    assert "ada@example.com" not in stored  # who is the user id, not the address


def test_login_events_record_who_and_where(client, smtp):  # noqa: F811
    browser = Browser(client, ip="203.0.113.5")
    sign_up(browser, smtp)
    log_in(browser, "ada@example.com", "not it at all, sorry")
    log_in(browser, "nobody@example.com", "not it at all, sorry")
    log_in(browser, "ada@example.com")
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("login%"))
                                .order_by(AuditEvent.created_at)).all()
    assert [e.action for e in events] == ["login.failed", "login.failed", "login"]
    assert all(e.ip == "203.0.113.5" for e in events)
    assert events[0].user_id and events[0].account_id  # a known user's failure is tied to them
    assert events[1].user_id is None and events[1].account_id is None  # an unknown email: no row to point to
