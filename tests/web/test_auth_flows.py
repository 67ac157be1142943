"""Sign-up, email verification, login, logout and password reset, through the pages a user sees."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import Account, AuditEvent, User
from backend.models.auth import EmailToken
from backend.security import sessions
from tests.accounts_support import PASSWORD, Browser, app_config, log_in, sign_up, smtp  # noqa: F401


def test_sign_up_makes_an_unverified_admin_who_confirms_by_email(client, smtp):  # noqa: F811
    browser = Browser(client)
    response = browser.submit("/signup", "/signup", {
        "first_name": "Ada", "last_name": "Lovelace", "email": " Ada@Example.com ", "company": "Acme",
        "country": "gb", "region": "eu-frankfurt", "password": PASSWORD})
    assert response.status_code == 200 and "Check your email" in response.get_data(as_text=True)
    user = db.session.scalars(select(User)).one()
    account = db.session.get(Account, user.account_id)
    assert (user.email, user.role, user.email_verified) == ("ada@example.com", "admin", False)
    assert (account.company, account.country, account.region) == ("Acme", "GB", "eu-frankfurt")
    assert user.password_hash.startswith("$argon2id$")

    # Before confirming, the right password does not sign in; it sends a fresh link instead.
    assert log_in(browser, "ada@example.com").status_code == 403
    smtp.wait_for(2)
    token = smtp.link("ada@example.com", "/verify")
    body = smtp.last_to("ada@example.com").get_content()
    assert "/verify#token=" in body and "?token=" not in body  # the fragment never reaches a server log
    stored = db.session.scalars(select(EmailToken.token_hash)).all()
    assert token not in stored  # only hashes are stored

    page = browser.get(f"/verify?token={token}")
    assert page.status_code == 200
    db.session.expire_all()
    assert not db.session.get(User, user.id).email_verified  # opening the link (GET) changes nothing
    wrong = browser.submit(f"/verify?token={token}", "/verify", {"token": token, "password": "not the one"})
    assert wrong.status_code == 400 and browser.cookie(sessions.COOKIE_NAME) is None
    response = browser.submit(f"/verify?token={token}", "/verify", {"token": token, "password": PASSWORD})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).email_verified
    assert browser.cookie(sessions.COOKIE_NAME) is not None

    # Single use: the same link does not work twice.
    again = browser.post("/verify", {"token": token, "password": PASSWORD, "csrf_token": browser.csrf("/login")})
    assert again.status_code == 400


def test_verification_link_from_an_earlier_mail_stops_working(client, smtp):  # noqa: F811
    browser = Browser(client)
    browser.submit("/signup", "/signup", {
        "first_name": "Ada", "last_name": "L", "email": "ada@example.com", "company": "Acme",
        "country": "GB", "region": "eu-frankfurt", "password": PASSWORD})
    smtp.wait_for(1)
    first = smtp.link("ada@example.com", "/verify")
    log_in(browser, "ada@example.com")  # unverified: mails a new link
    smtp.wait_for(2)
    assert browser.submit("/login", "/verify", {"token": first, "password": PASSWORD}).status_code == 400


@pytest.mark.promise("data-stays-in-region")
def test_sign_up_for_another_region_points_there_and_stores_nothing(client, smtp):  # noqa: F811
    browser = Browser(client)
    response = browser.submit("/signup", "/signup", {
        "first_name": "Ada", "last_name": "L", "email": "ada@example.com", "company": "Acme",
        "country": "US", "region": "us-dallas", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://us.inflow.example/signup")
    assert db.session.scalar(select(func.count()).select_from(Account)) == 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert smtp.messages == []


def test_sign_up_with_a_taken_email_looks_the_same_and_mails_the_owner(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    other = Browser(client.application.test_client(), ip="203.0.113.9")
    response = other.submit("/signup", "/signup", {
        "first_name": "Eve", "last_name": "X", "email": "ada@example.com", "company": "Evil",
        "country": "GB", "region": "eu-frankfurt", "password": "another long password"})
    assert response.status_code == 200 and "Check your email" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Account)) == 1
    smtp.wait_for(2)
    assert "already has an account" in smtp.last_to("ada@example.com").get_content()


def test_login_and_logout(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    browser.client.delete_cookie(sessions.COOKIE_NAME, domain="localhost")
    response = log_in(browser, "ada@example.com")
    assert response.status_code == 303 and response.headers["Location"] == "/settings"
    cookie = browser.cookie(sessions.COOKIE_NAME)
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax" and cookie.path == "/"
    assert cookie.domain in ("localhost", "") and not cookie.domain.startswith(".")
    assert set(cookie.value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(cookie.value) >= 43  # 256 bits

    stolen = cookie.value
    response = browser.submit("/login", "/logout", {})
    assert response.status_code == 303
    assert browser.cookie(sessions.COOKIE_NAME) is None
    # A copy of the cookie kept by someone else stops working after logout (server-side invalidation).
    browser.client.set_cookie(sessions.COOKIE_NAME, stolen, domain="localhost", secure=True)
    assert browser.post("/logout", {"csrf_token": "x"}).status_code == 401
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"signup", "email.verified", "login", "logout"} <= actions


def test_login_gives_a_new_session_id_each_time(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    first = browser.cookie(sessions.COOKIE_NAME).value
    log_in(browser, "ada@example.com")
    second = browser.cookie(sessions.COOKIE_NAME).value
    assert first != second
    browser.client.set_cookie(sessions.COOKIE_NAME, first, domain="localhost", secure=True)
    assert browser.post("/logout", {"csrf_token": "x"}).status_code == 401


def test_wrong_password_and_unknown_email_get_the_same_answer(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    wrong = log_in(browser, "ada@example.com", "not the password at all")
    unknown = log_in(browser, "nobody@example.com", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: r.get_data(as_text=True).replace("nobody@example.com", "ada@example.com")  # noqa: E731
    assert strip(wrong) == strip(unknown).replace(browser.csrf("/login"), browser.csrf("/login"))


def test_password_reset_by_emailed_single_use_link(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    old_session = browser.cookie(sessions.COOKIE_NAME).value
    stranger = Browser(client.application.test_client(), ip="203.0.113.50")
    known = stranger.submit("/password/forgot", "/password/forgot", {"email": "ada@example.com"})
    unknown = stranger.submit("/password/forgot", "/password/forgot", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    smtp.wait_for(2)
    token = smtp.link("ada@example.com", "/password/reset")
    assert len([m for m in smtp.messages if m["To"] == "nobody@example.com"]) == 0

    short = stranger.submit(f"/password/reset?token={token}", "/password/reset", {"token": token, "password": "short"})
    assert short.status_code == 400  # token not used up by a rejected password
    new_password = "a brand new long passphrase"
    done = stranger.submit(f"/password/reset?token={token}", "/password/reset",
                           {"token": token, "password": new_password})
    assert done.status_code == 303
    again = stranger.submit("/password/forgot", "/password/reset", {"token": token, "password": new_password + "!"})
    assert again.status_code == 400
    # Sessions from before the reset are ended; the old password no longer works, the new one does.
    browser.client.set_cookie(sessions.COOKIE_NAME, old_session, domain="localhost", secure=True)
    assert browser.post("/logout", {"csrf_token": "x"}).status_code == 401
    assert log_in(browser, "ada@example.com").status_code == 401
    assert log_in(browser, "ada@example.com", new_password).status_code == 303
    assert "password.reset" in set(db.session.scalars(select(AuditEvent.action)))


def test_next_parameter_only_redirects_within_the_site(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    for target, expected in (("//evil.example/x", "/settings"), ("https://evil.example", "/settings"),
                             ("/\\evil.example", "/settings"), ("/settings?tab=users", "/settings?tab=users")):
        response = browser.submit("/login", "/login", {"email": "ada@example.com", "password": PASSWORD,
                                                       "next": target})
        assert response.headers["Location"] == expected


def test_someone_who_signed_up_with_my_address_cannot_have_me_confirm_it(client, smtp):  # noqa: F811
    """Pre-hijacking: the owner of the mailbox clicking the link does not confirm an account whose password
    an attacker chose; confirming needs that password."""
    attacker = Browser(client, ip="203.0.113.13")
    attacker.submit("/signup", "/signup", {
        "first_name": "Ada", "last_name": "L", "email": "ada@example.com", "company": "Trap",
        "country": "GB", "region": "eu-frankfurt", "password": "attacker chosen password"})
    smtp.wait_for(1)
    token = smtp.link("ada@example.com", "/verify")
    owner = Browser(client.application.test_client(), ip="192.0.2.1")
    response = owner.submit(f"/verify?token={token}", "/verify", {"token": token, "password": "my own password!"})
    assert response.status_code == 400
    db.session.expire_all()
    assert not db.session.scalars(select(User)).one().email_verified


def test_names_with_line_breaks_are_refused(client, smtp):  # noqa: F811
    browser = Browser(client)
    response = browser.submit("/signup", "/signup", {
        "first_name": "Ada", "last_name": "L", "email": "ada@example.com", "company": "Acme\r\nBcc: x@evil.example",
        "country": "GB", "region": "eu-frankfurt", "password": PASSWORD})
    assert response.status_code == 400
    for email in ("ada@example.com\r\nBcc: x@evil.example", "ada example@x.com", "ada@localhost", "@x.com"):
        response = browser.submit("/signup", "/signup", {
            "first_name": "Ada", "last_name": "L", "email": email, "company": "Acme",
            "country": "GB", "region": "eu-frankfurt", "password": PASSWORD})
        assert response.status_code == 400, email
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
