"""Ended app tokens: revoked token ids and per-user / per-org "not before" times, kept in Redis.

App tokens are sealed and stateless, so ending one early needs a list the server checks on every request
(backend/web/authn.py). Each entry lives only as long as the tokens it could still refuse:
- `revoke(token)`: that one token (key per token id, TTL = the token's remaining life);
- `end_user_tokens(user)`: every token of the user issued until now (logout), copies included;
- `end_org_tokens(org)`: every token of a page launched from that org (Disconnect), so a reconnect
  later does not bring old tokens back.
The last two keep a "not before" time with TTL = the longest a token lives: older tokens have expired
by the time the key goes.
"""

from __future__ import annotations

import math
import time

import redis

from backend.security.tokens import AppToken

REVOKED = "inflow:app-token:revoked:"
USER_NOT_BEFORE = "inflow:app-token:user-not-before:"
ORG_NOT_BEFORE = "inflow:app-token:org-not-before:"


def revoke(conn: redis.Redis, token: AppToken, now: float | None = None) -> None:
    """Refuse this token from now until it expires anyway."""
    remaining = math.ceil(token.expires_at - (time.time() if now is None else now))
    if remaining > 0:
        conn.set(REVOKED + token.token_id, "1", ex=remaining)


def end_user_tokens(conn: redis.Redis, user_id: str, max_life_seconds: int, now: float | None = None) -> None:
    """Refuse every token of this user issued until now."""
    _set_not_before(conn, USER_NOT_BEFORE + user_id, max_life_seconds, now)


def end_org_tokens(conn: redis.Redis, org_connection_id: str, max_life_seconds: int,
                   now: float | None = None) -> None:
    """Refuse every token of a page launched from this org connection, issued until now."""
    _set_not_before(conn, ORG_NOT_BEFORE + org_connection_id, max_life_seconds, now)


def _set_not_before(conn: redis.Redis, key: str, max_life_seconds: int, now: float | None) -> None:
    # +1 s: the TTL is whole seconds and must outlast a token issued a fraction of a second ago.
    conn.set(key, repr(time.time() if now is None else now), ex=max_life_seconds + 1)


def is_ended(conn: redis.Redis, token: AppToken) -> bool:
    """True when the token was revoked, or issued before its user's logout or its org's Disconnect.

    One round trip; a Redis error propagates (the request fails closed with 503, never passes unchecked)."""
    org_key = ORG_NOT_BEFORE + token.org_connection_id if token.org_connection_id else None
    keys = [REVOKED + token.token_id, USER_NOT_BEFORE + token.user_id] + ([org_key] if org_key else [])
    revoked, *not_befores = conn.mget(keys)
    if revoked is not None:
        return True
    return any(value is not None and token.issued_at <= float(value) for value in not_befores)
