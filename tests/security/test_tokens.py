"""App tokens and sealed state: opaque, authenticated, purpose-bound, short-lived, and rotation-safe."""

from __future__ import annotations

import base64
import time

import pytest

from backend.security.crypto import generate_keyring
from backend.security.tokens import APP_TOKEN, TokenError, issue_app_token, read_app_token, seal, unseal

ACCOUNT = "a" * 32
USER = "b" * 32
ORG = "c" * 32


def _token(keyring, ttl: int = 900, now: float | None = None) -> str:
    return issue_app_token(keyring, account_id=ACCOUNT, user_id=USER, org_connection_id=ORG, region="eu-frankfurt",
                           ttl_seconds=ttl, now=now)[0]


def test_round_trip_carries_account_user_org_region_and_expiry():
    ring = generate_keyring()
    token, expires = issue_app_token(ring, account_id=ACCOUNT, user_id=USER, org_connection_id=ORG,
                                     region="eu-frankfurt", ttl_seconds=900)
    claims = read_app_token(ring, token)
    assert (claims.account_id, claims.user_id, claims.org_connection_id, claims.region) == (
        ACCOUNT, USER, ORG, "eu-frankfurt")
    assert claims.expires_at == expires and 899 <= expires - time.time() <= 900


def test_claims_are_not_readable_from_the_token():
    token = _token(generate_keyring())
    raw = base64.urlsafe_b64decode(token[5:] + "==")
    assert ACCOUNT.encode() not in raw and USER not in token and b"eu-frankfurt" not in raw


def test_expired_tampered_foreign_and_cross_purpose_tokens_fail():
    ring = generate_keyring()
    with pytest.raises(TokenError, match="expired"):
        read_app_token(ring, _token(ring, ttl=60, now=time.time() - 61))
    good = _token(ring)
    for index in (6, len(good) // 2, len(good) - 2):
        bad = good[:index] + ("A" if good[index] != "A" else "B") + good[index + 1:]
        with pytest.raises(TokenError):
            read_app_token(ring, bad)
    with pytest.raises(TokenError):
        read_app_token(generate_keyring(), good)  # another deployment's (another region's) keyring
    state = seal(ring, "oauth-connect", {"a": ACCOUNT, "u": USER, "o": None, "r": "eu-frankfurt"}, 600)
    with pytest.raises(TokenError):
        read_app_token(ring, state)  # a sealed OAuth state is never an app token
    with pytest.raises(TokenError):
        unseal(ring, "oauth-connect", good)
    for junk in ("", "Bearer", "ift1.", "ift1.!!!", "x" * 5000):
        with pytest.raises(TokenError):
            unseal(ring, APP_TOKEN, junk)


def test_tokens_survive_key_rotation_until_the_old_key_is_retired():
    ring = generate_keyring()
    old_kid = ring.primary
    token = _token(ring)
    rotated = ring.with_new_primary()
    assert read_app_token(rotated, token).account_id == ACCOUNT
    assert read_app_token(rotated, _token(rotated)).account_id == ACCOUNT
    with pytest.raises(TokenError):
        read_app_token(rotated.without(old_kid), token)


def test_nonces_never_repeat():
    ring = generate_keyring()
    tokens = {_token(ring) for _ in range(2000)}
    assert len(tokens) == 2000


def test_every_token_has_its_own_id_and_issue_time_and_one_without_an_id_is_refused():
    ring = generate_keyring()
    first, second = read_app_token(ring, _token(ring)), read_app_token(ring, _token(ring))
    assert first.token_id != second.token_id and len(first.token_id) >= 22  # 128 random bits
    assert first.issued_at <= second.issued_at < first.expires_at
    old_style = seal(ring, APP_TOKEN, {"a": ACCOUNT, "u": USER, "o": ORG, "r": "eu-frankfurt"}, 900)
    with pytest.raises(TokenError, match="claims"):
        read_app_token(ring, old_style)  # sealed before tokens had ids: it could never be revoked
