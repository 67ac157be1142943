"""Checklist 8 for the accounts half: passwords, session ids and emailed tokens never sit in plain text in
the database (rows, and pg_dump on PostgreSQL) or in Redis (keys, values and the RDB file on disk)."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.security import sessions
from backend.services import get_redis
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


def _pg_dump(database_url: str) -> bytes:
    """What a database backup holds (PostgreSQL runs only)."""
    if not database_url.startswith("postgresql"):
        return b""
    url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    return subprocess.run(["pg_dump", "--data-only", "--no-owner", url], check=True, capture_output=True,
                          timeout=60).stdout


def _redis_rdb() -> bytes:
    """The snapshot Redis writes to disk (RDB persistence), as a backup or a stolen disk would hold it."""
    conn = get_redis()
    conn.save()
    folder = conn.config_get("dir")["dir"]
    name = conn.config_get("dbfilename")["dbfilename"]
    return Path(folder, name).read_bytes()


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="), raw.hex().encode()]


@pytest.mark.promise("sign-in-oauth-or-hashed-passwords")
def test_no_password_session_id_or_mailed_token_at_rest(client, smtp, app_config):  # noqa: F811
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

    backup = _pg_dump(app_config["database_url"])
    assert b"$argon2id$" in backup or not app_config["database_url"].startswith("postgresql")
    at_rest = b"\n".join((_redis_dump(), _database_dump(), _redis_rdb(), backup))
    assert b"inflow:session:" in at_rest and b"$argon2id$" in at_rest  # we looked at the right stores
    for secret in secrets:
        for form in _forms(secret):
            assert form not in at_rest
    assert b"ada@example.com" not in _redis_dump()  # rate-limit keys are hashed
