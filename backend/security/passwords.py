"""Password hashing with argon2id at OWASP parameters, rehashing old hashes at login."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP Password Storage Cheat Sheet / ASVS 5 Appendix C: argon2id, m=19 MiB, t=2, p=1.
TIME_COST = 2
MEMORY_COST_KIB = 19456
PARALLELISM = 1
MIN_LENGTH = 12
MAX_LENGTH = 256  # long enough for passphrases, short enough that hashing cannot be used to burn CPU

HASHER = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM,
                        hash_len=32, salt_len=16, type=Type.ID)
# Verified when no user matches, so an unknown email costs the same time as a wrong password.
_DUMMY_HASH = HASHER.hash("inflow-no-such-user-placeholder")


class WeakPassword(ValueError):
    """The password does not meet the policy; the message says what to change."""


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Use at most {MAX_LENGTH} characters.")


def hash_password(password: str, hasher: PasswordHasher = HASHER) -> str:
    """A `$argon2id$...` string with its own random salt."""
    return hasher.hash(password)


def verify(stored_hash: str | None, password: str, hasher: PasswordHasher = HASHER) -> bool:
    """True when the password matches; a missing or malformed hash spends the same time and fails."""
    try:
        return hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, hasher: PasswordHasher = HASHER) -> bool:
    """True when the hash was made with other parameters (or another variant) than the current ones."""
    try:
        return hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def verify_and_upgrade(stored_hash: str | None, password: str,
                       hasher: PasswordHasher = HASHER) -> tuple[bool, str | None]:
    """(matches, new hash to store or None): a correct password under old parameters is rehashed."""
    if not verify(stored_hash, password, hasher):
        return False, None
    if needs_rehash(stored_hash, hasher):
        return True, hasher.hash(password)
    return True, None
