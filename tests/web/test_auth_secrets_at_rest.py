"""Checklist 8 for the accounts half: passwords, session ids and emailed tokens never sit in plain text in
the database or in Redis (where an RDB/AOF file would put them on disk)."""

from __future__ import annotations

import base64

from sqlalchemy import select

from backend.extensions import db
from backend.security import sessions
from backend.web.context import get_redis
from tests.accounts_support import PASSWORD, Browser, app_config, log_in, sign_up, smtp  # noqa: F401

NEW_PASSWORD = "canary-new-password-7f3a9c"


def _redis_dump() -> bytes:
    conn, parts = get_redis(), []
    for key in conn.scan_iter("*"):
        kind = conn.type(key)
        parts.append(key)
        if kind == b"string":
            parts.append(conn.get(key))
        elif kind == b"set":
            parts.extend(conn.smembers(key))
        elif kind == b"hash":
            parts.extend(b"%s=%s" % kv for kv in conn.hgetall(key).items())
        elif kind == b"list":
            parts.extend(conn.lrange(key, 0, -1))
    return b"\n".join(parts)


def _database_dump() -> bytes:
    rows = []
    for table in db.metadata.sorted_tables:
        rows.extend(repr(tuple(r)) for r in db.session.execute(select(table)))
    return "\n".join(rows).encode()


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="), raw.hex().encode()]


def test_no_password_session_id_or_mailed_token_at_rest(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    verify_token = smtp.link("ada@example.com", "/verify")
    browser.submit("/password/forgot", "/password/forgot", {"email": "ada@example.com"})
    smtp.wait_for(2)
    reset_token = smtp.link("ada@example.com", "/password/reset")
    browser.submit(f"/password/reset?token={reset_token}", "/password/reset",
                   {"token": reset_token, "password": NEW_PASSWORD})
    log_in(browser, "ada@example.com", "a wrong canary password 1b2c")
    log_in(browser, "ada@example.com", NEW_PASSWORD)
    session_id = browser.cookie(sessions.COOKIE_NAME).value
    secrets = [PASSWORD, NEW_PASSWORD, "a wrong canary password 1b2c", verify_token, reset_token, session_id]

    at_rest = _redis_dump() + b"\n" + _database_dump()
    assert b"inflow:session:" in at_rest and b"$argon2id$" in at_rest  # we looked at the right stores
    for secret in secrets:
        for form in _forms(secret):
            assert form not in at_rest
    assert b"ada@example.com" not in _redis_dump()  # rate-limit keys are hashed
