"""Rate limits and lockouts counted in Redis, shared by every web process."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import redis


@dataclass(frozen=True)
class Limit:
    """At most `limit` events per `window` seconds for one key (an IP, an email)."""

    name: str
    limit: int
    window: int


# Failed logins: per email (lockout), per IP (spraying many emails from one place).
LOGIN_FAILURES_PER_EMAIL = Limit("login-fail-email", 5, 15 * 60)
LOGIN_FAILURES_PER_IP = Limit("login-fail-ip", 30, 15 * 60)
# Requests that send mail or create rows.
SIGNUPS_PER_IP = Limit("signup-ip", 10, 60 * 60)
RESETS_PER_IP = Limit("reset-ip", 10, 60 * 60)
RESETS_PER_EMAIL = Limit("reset-email", 3, 60 * 60)
INVITES_PER_ACCOUNT = Limit("invite-account", 50, 24 * 60 * 60)


def _key(limit: Limit, subject: str) -> str:
    # Hashed: Redis never holds the email addresses or IPs themselves.
    return f"inflow:rl:{limit.name}:{hashlib.sha256(subject.strip().lower().encode()).hexdigest()}"


def count(conn: redis.Redis, limit: Limit, subject: str) -> int:
    return int(conn.get(_key(limit, subject)) or 0)


def exceeded(conn: redis.Redis, limit: Limit, subject: str) -> bool:
    """True when the subject already used up its allowance in the current window."""
    return count(conn, limit, subject) >= limit.limit


def hit(conn: redis.Redis, limit: Limit, subject: str) -> bool:
    """Count one event; True while the subject is still within its allowance (this event included)."""
    key = _key(limit, subject)
    pipe = conn.pipeline()
    # The window starts at the first event, not the latest (INCR keeps the TTL; works on Redis 6).
    pipe.set(key, 0, ex=limit.window, nx=True)
    pipe.incr(key)
    _, value = pipe.execute()
    return int(value) <= limit.limit


def reset(conn: redis.Redis, limit: Limit, subject: str) -> None:
    conn.delete(_key(limit, subject))


def retry_after(conn: redis.Redis, limit: Limit, subject: str) -> int:
    """Seconds until the window ends (0 when nothing is counted)."""
    return max(int(conn.ttl(_key(limit, subject))), 0)
