"""Pseudonyms: stable keyed stand-ins for ids that must not be kept once their owner's account is deleted."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.security.crypto import Keyring

# "p" is not a hex digit: a pseudonym never passes for a live id, and still fits the 32-character id columns.
PREFIX = "p"


def pseudonym_key(keyring: Keyring) -> tuple[str, bytes]:
    """(key id, HMAC key) derived from the keyring's primary key for this one purpose. Whoever holds that key
    can tell whether a known id is behind a pseudonym (a legal request); nobody can reverse one."""
    kid = keyring.primary
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"inflow audit pseudonyms v1").derive(keyring.keys[kid])
    return kid, key


def pseudonym(key: bytes, value: str) -> str:
    """The same value always gives the same pseudonym under one key, so one user's events stay linkable."""
    return PREFIX + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:31]
