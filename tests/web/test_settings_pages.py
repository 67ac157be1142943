"""Account settings: retention for admins (audited, bounded), region read-only, users, invitations."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import Account, AuditEvent, User
from tests.accounts_support import PASSWORD, Browser, app_config, log_in, sign_up, smtp  # noqa: F401


def _account() -> Account:
    return db.session.scalars(select(Account)).one()


@pytest.mark.promise("results-kept-14-days", "retention-0-to-30-days")
def test_admin_changes_retention_within_bounds_and_it_is_audited(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    page = browser.get("/settings").get_data(as_text=True)
    assert "Europe (Frankfurt)" in page and 'name="region"' not in page  # shown, not editable
    response = browser.submit("/settings", "/settings/retention", {"retention_days": "3"})
    assert response.status_code == 303
    db.session.expire_all()
    assert _account().retention_days == 3
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.changed")).one()
    assert event.details == {"old_days": 14, "new_days": 3} and event.user_id and event.ip


@pytest.mark.promise("retention-0-to-30-days")
def test_retention_out_of_range_and_extra_fields_change_nothing(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    for value in ("31", "-1", "abc", "", "1e3", "7.5"):
        response = browser.submit("/settings", "/settings/retention", {"retention_days": value})
        assert response.status_code == 400, value
    # Mass assignment: only retention_days is read from the form.
    browser.submit("/settings", "/settings/retention", {"retention_days": "5", "region": "us-dallas",
                                                         "plan": "enterprise", "company": "Evil", "id": "x"})
    db.session.expire_all()
    account = _account()
    assert (account.retention_days, account.region, account.plan, account.company) == (
        5, "eu-frankfurt", "free", "Acme")


def test_admin_invites_a_user_who_joins_by_emailed_link(client, smtp):  # noqa: F811
    admin = Browser(client)
    sign_up(admin, smtp)
    response = admin.submit("/settings", "/settings/invite", {"email": "Bob@Example.com", "role": "user",
                                                              "first_name": "Bob"})
    assert response.status_code == 200 and "Invitation sent" in response.get_data(as_text=True)
    invited = db.session.scalars(select(User).where(User.email == "bob@example.com")).one()
    assert (invited.role, invited.password_hash, invited.account_id) == ("user", None, _account().id)
    smtp.wait_for(2)
    token = smtp.link("bob@example.com", "/invite/accept")

    bob = Browser(client.application.test_client(), ip="192.0.2.10")
    assert log_in(bob, "bob@example.com", "").status_code == 401  # no password until the link is used
    joined = bob.submit(f"/invite/accept?token={token}", "/invite/accept",
                        {"token": token, "password": "bobs own long password"})
    assert joined.status_code == 303
    page = bob.get("/settings").get_data(as_text=True)
    assert "bob@example.com" in page and 'action="/settings/retention"' not in page
    # A user (not admin) cannot change retention or invite.
    assert bob.submit("/settings", "/settings/retention", {"retention_days": "1"}).status_code == 403
    assert bob.submit("/settings", "/settings/invite", {"email": "c@example.com"}).status_code == 403
    actions = [a for a in db.session.scalars(select(AuditEvent.action))]
    assert "user.invited" in actions and "invite.accepted" in actions


def test_inviting_an_address_of_another_account_reveals_nothing_to_the_admin(client, smtp):  # noqa: F811
    other = Browser(client.application.test_client(), ip="192.0.2.20")
    sign_up(other, smtp, "carol@other.example", company="Other")
    admin = Browser(client)
    sign_up(admin, smtp)
    taken = admin.submit("/settings", "/settings/invite", {"email": "carol@other.example", "role": "user"})
    fresh = admin.submit("/settings", "/settings/invite", {"email": "dave@example.com", "role": "user"})
    assert taken.status_code == fresh.status_code == 200
    carol = db.session.scalars(select(User).where(User.email == "carol@other.example")).one()
    assert carol.account_id != _account_of("ada@example.com")


def _account_of(email: str) -> str:
    return db.session.scalars(select(User.account_id).where(User.email == email)).one()


def test_settings_need_a_session(client):
    browser = Browser(client)
    response = browser.get("/settings", headers={"Accept": "text/html"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert browser.get("/settings").status_code == 401  # not a browser page request: no redirect
    assert browser.post("/settings/retention", {"retention_days": "1"}).status_code == 401
    assert browser.get("/settings/retention").status_code == 405


def test_users_list_shows_only_this_accounts_users(client, smtp):  # noqa: F811
    other = Browser(client.application.test_client(), ip="192.0.2.30")
    sign_up(other, smtp, "erin@other.example", company="Other")
    admin = Browser(client)
    sign_up(admin, smtp)
    page = admin.get("/settings").get_data(as_text=True)
    assert "ada@example.com" in page and "erin@other.example" not in page and "Other" not in page


def test_invitation_that_cannot_be_mailed_leaves_no_user(client, smtp, app):  # noqa: F811
    admin = Browser(client)
    sign_up(admin, smtp)
    # The mail server goes away (nothing listens on the discard port).
    app.extensions["inflow.settings"] = dataclasses.replace(app.extensions["inflow.settings"], smtp_port=9)
    response = admin.submit("/settings", "/settings/invite", {"email": "bob@example.com", "role": "user"})
    assert response.status_code == 503 and "could not be sent" in response.get_data(as_text=True)
    assert db.session.scalars(select(User).where(User.email == "bob@example.com")).first() is None
