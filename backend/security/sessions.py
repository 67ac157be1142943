"""First-party browser sessions: a random id in a `__Host-` cookie, the session itself in Redis."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass

import redis
from flask import Response

from backend.settings import Settings

COOKIE_NAME = "__Host-inflow_session"
_KEY = "inflow:session:{}"
_USER_INDEX = "inflow:user-sessions:{}"


@dataclass(frozen=True)
class Session:
    """What the server knows about one signed-in browser; the cookie holds only a random id."""

    key: str  # sha256 of the cookie value: a Redis dump does not hand out live session ids
    user_id: str
    account_id: str
    csrf_token: str
    created_at: float
    last_seen: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _limits(settings: Settings) -> tuple[int, int]:
    return settings.session_idle_minutes * 60, settings.session_absolute_hours * 3600


def create(conn: redis.Redis, settings: Settings, user_id: str, account_id: str,
           now: float | None = None) -> tuple[str, Session]:
    """A new session (a new id at every login, ASVS 7.2.4); returns the cookie value and the session."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)  # 256 bits from the OS CSPRNG
    session = Session(_digest(token), user_id, account_id, secrets.token_urlsafe(32), now, now)
    _save(conn, settings, session, now)
    conn.sadd(_USER_INDEX.format(user_id), session.key)
    return token, session


def _save(conn: redis.Redis, settings: Settings, session: Session, now: float) -> None:
    idle, absolute = _limits(settings)
    remaining = int(min(idle, session.created_at + absolute - now)) + 1
    conn.set(_KEY.format(session.key), json.dumps(asdict(session)), ex=max(remaining, 1))


def load(conn: redis.Redis, settings: Settings, token: str | None, now: float | None = None) -> Session | None:
    """The live session for a cookie value, or None when unknown, idle too long or past its absolute limit."""
    if not token or len(token) > 128:
        return None
    now = time.time() if now is None else now
    raw = conn.get(_KEY.format(_digest(token)))
    if raw is None:
        return None
    session = Session(**json.loads(raw))
    idle, absolute = _limits(settings)
    if now - session.last_seen > idle or now - session.created_at > absolute:
        destroy(conn, token)
        return None
    fresh = Session(**{**asdict(session), "last_seen": now})
    _save(conn, settings, fresh, now)
    return fresh


def destroy(conn: redis.Redis, token: str | None) -> None:
    """Server-side logout: the id stops working even if someone kept a copy of the cookie."""
    if not token:
        return
    key = _digest(token)
    raw = conn.get(_KEY.format(key))
    conn.delete(_KEY.format(key))
    if raw is not None:
        conn.srem(_USER_INDEX.format(json.loads(raw)["user_id"]), key)


def destroy_all_for_user(conn: redis.Redis, user_id: str) -> int:
    """End every session of a user (password reset, removal, account deletion)."""
    index = _USER_INDEX.format(user_id)
    keys = [k.decode() if isinstance(k, bytes) else k for k in conn.smembers(index)]
    for key in keys:
        conn.delete(_KEY.format(key))
    conn.delete(index)
    return len(keys)


def set_cookie(response: Response, token: str, settings: Settings) -> None:
    # __Host- requires Secure, Path=/ and no Domain: no subdomain can plant or read it.
    # Lax: sent on top-level navigation to us, never on cross-site POSTs or subresource requests.
    response.set_cookie(COOKIE_NAME, token, max_age=settings.session_absolute_hours * 3600, path="/",
                        secure=True, httponly=True, samesite="Lax")


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", secure=True, httponly=True, samesite="Lax")
