"""argon2id at OWASP parameters, unique salts, and rehash at login when the parameters change."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import select

from backend.extensions import db
from backend.models import User
from backend.security import passwords
from tests.accounts_support import PASSWORD, Browser, app_config, log_in, sign_up, smtp  # noqa: F401


@pytest.mark.promise("sign-in-oauth-or-hashed-passwords")
def test_hashes_are_argon2id_at_or_above_the_asvs_minimums():
    stored = passwords.hash_password("a long enough password")
    params = extract_parameters(stored)
    assert stored.startswith("$argon2id$v=19$")
    assert params.type is Type.ID and params.parallelism == 1
    # ASVS 5 Appendix C: m>=19 MiB with t>=2 (or m>=46 MiB with t=1).
    assert (params.memory_cost >= 19456 and params.time_cost >= 2) or params.memory_cost >= 47104
    assert params.salt_len >= 16 and params.hash_len >= 32


def test_same_password_gives_different_hashes_and_verifies():
    one, two = passwords.hash_password("same password here"), passwords.hash_password("same password here")
    assert one != two
    assert passwords.verify(one, "same password here") and passwords.verify(two, "same password here")
    assert not passwords.verify(one, "same password herE")
    assert not passwords.verify(None, "same password here")
    assert not passwords.verify("not a hash", "same password here")


def test_policy_refuses_short_passwords():
    for bad in ("", "short", "x" * 11, "x" * 257):
        try:
            passwords.check_policy(bad)
        except passwords.WeakPassword:
            continue
        raise AssertionError(f"{len(bad)} characters accepted")
    passwords.check_policy("twelve chars")


@pytest.mark.promise("sign-in-oauth-or-hashed-passwords")
def test_old_parameters_are_rehashed_on_login(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    user = db.session.scalars(select(User)).one()
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=2, type=Type.ID)
    user.password_hash = old.hash(PASSWORD)
    db.session.commit()
    assert passwords.needs_rehash(user.password_hash)

    assert log_in(browser, "ada@example.com").status_code == 303
    db.session.expire_all()
    upgraded = db.session.scalars(select(User)).one().password_hash
    params = extract_parameters(upgraded)
    assert (params.time_cost, params.memory_cost, params.parallelism) == (2, 19456, 1)
    assert not passwords.needs_rehash(upgraded) and passwords.verify(upgraded, PASSWORD)


def test_argon2i_or_other_variants_are_upgraded_too():
    legacy = PasswordHasher(type=Type.I).hash("legacy password!")
    ok, new_hash = passwords.verify_and_upgrade(legacy, "legacy password!")
    assert ok and new_hash.startswith("$argon2id$")
