"""Short-lived sealed tokens: the canvas page's app token and OAuth state, AES-GCM under keyring-derived keys."""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.security.crypto import NONCE_BYTES, Keyring

PREFIX = "ift1."  # "Inflow token, format 1"; lets logs redaction and readers recognise one
APP_TOKEN = "app-token"
MAX_TOKEN_CHARS = 4096


class TokenError(ValueError):
    """Not a token we sealed for this purpose, or expired. Callers answer 401 without details."""


@dataclass(frozen=True)
class AppToken:
    """Who the canvas page acts for: the account, the user and the org the page was launched from."""

    account_id: str
    user_id: str
    org_connection_id: str | None
    region: str
    expires_at: float
    token_id: str  # jti: logout and Disconnect revoke by it (backend/security/revocation.py)
    issued_at: float  # compared with the user's and the org's "not before" times


def _derive(keyring: Keyring, kid: str, purpose: str) -> bytes:
    # A separate key per purpose: a sealed OAuth state can never be replayed as an app token.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"inflow sealed token v1|{purpose}".encode()).derive(keyring.keys[kid])


def seal(keyring: Keyring, purpose: str, claims: dict[str, Any], ttl_seconds: int,
         now: float | None = None) -> str:
    """Encrypt and authenticate `claims` plus an expiry; the result is URL-safe text."""
    issued = time.time() if now is None else now
    body = json.dumps({**claims, "exp": issued + ttl_seconds}, separators=(",", ":")).encode()
    kid = keyring.primary.encode()
    header = bytes([len(kid)]) + kid
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_derive(keyring, keyring.primary, purpose)).encrypt(nonce, body, header)
    return PREFIX + base64.urlsafe_b64encode(header + nonce + sealed).decode().rstrip("=")


def unseal(keyring: Keyring, purpose: str, token: str, now: float | None = None) -> dict[str, Any]:
    """The claims of a token sealed for `purpose` that has not expired; TokenError otherwise."""
    if not token or len(token) > MAX_TOKEN_CHARS or not token.startswith(PREFIX):
        raise TokenError("not an Inflow token")
    text = token[len(PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("not an Inflow token") from None
    if len(raw) < 2 or len(raw) < 1 + raw[0] + NONCE_BYTES + 16:
        raise TokenError("truncated token")
    kid = raw[1:1 + raw[0]].decode("ascii", "replace")
    if kid not in keyring.keys:
        raise TokenError("token key is not in the keyring")
    header, rest = raw[:1 + raw[0]], raw[1 + raw[0]:]
    try:
        body = AESGCM(_derive(keyring, kid, purpose)).decrypt(rest[:NONCE_BYTES], rest[NONCE_BYTES:], header)
    except InvalidTag:
        raise TokenError("token failed authentication") from None
    claims = json.loads(body)
    if claims.get("exp", 0) <= (time.time() if now is None else now):
        raise TokenError("token expired")
    return claims


def issue_app_token(keyring: Keyring, *, account_id: str, user_id: str, org_connection_id: str | None,
                    region: str, ttl_seconds: int, now: float | None = None) -> tuple[str, float]:
    """A new app token and its expiry (epoch seconds)."""
    issued = time.time() if now is None else now
    claims = {"a": account_id, "u": user_id, "o": org_connection_id, "r": region,
              "i": secrets.token_urlsafe(16), "t": issued}
    token = seal(keyring, APP_TOKEN, claims, ttl_seconds, now=issued)
    return token, issued + ttl_seconds


def read_app_token(keyring: Keyring, token: str, now: float | None = None) -> AppToken:
    claims = unseal(keyring, APP_TOKEN, token, now)
    try:
        # A token without an id (sealed before ids existed) could not be revoked: refused, never trusted.
        return AppToken(str(claims["a"]), str(claims["u"]), claims.get("o"), str(claims["r"]),
                        float(claims["exp"]), str(claims["i"]), float(claims["t"]))
    except (KeyError, TypeError, ValueError):
        raise TokenError("token lacks its claims") from None
