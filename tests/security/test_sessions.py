"""Server-side sessions: random ids, idle and absolute expiry, server-side invalidation."""

from __future__ import annotations

import dataclasses

import redis as redis_lib

from backend.security import sessions
from backend.settings import Settings

SETTINGS = dataclasses.replace(Settings(), session_idle_minutes=30, session_absolute_hours=12)
T0 = 1_800_000_000.0


def _redis(app_config) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(app_config["redis_url"])


def test_ids_are_random_256_bit_and_only_their_hash_is_stored(app, app_config):
    conn = _redis(app_config)
    tokens = {sessions.create(conn, SETTINGS, "u1", "a1", T0)[0] for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) >= 43 for t in tokens)
    keys = b" ".join(conn.keys("inflow:session:*"))
    assert not any(t.encode() in keys for t in tokens)
    assert not any(t.encode() in (conn.get(k) or b"") for k in conn.keys("inflow:session:*") for t in tokens)


def test_idle_timeout(app, app_config):
    conn = _redis(app_config)
    token, _ = sessions.create(conn, SETTINGS, "u1", "a1", T0)
    assert sessions.load(conn, SETTINGS, token, T0 + 29 * 60) is not None  # activity renews the idle clock
    assert sessions.load(conn, SETTINGS, token, T0 + 58 * 60) is not None
    assert sessions.load(conn, SETTINGS, token, T0 + 89 * 60) is None
    assert sessions.load(conn, SETTINGS, token, T0 + 90 * 60) is None  # and it is gone for good


def test_absolute_timeout_even_when_active(app, app_config):
    conn = _redis(app_config)
    token, _ = sessions.create(conn, SETTINGS, "u1", "a1", T0)
    now = T0
    while now < T0 + 12 * 3600 - 20 * 60:
        now += 20 * 60
        assert sessions.load(conn, SETTINGS, token, now) is not None
    assert sessions.load(conn, SETTINGS, token, T0 + 12 * 3600 + 1) is None


def test_logout_everywhere(app, app_config):
    conn = _redis(app_config)
    first, _ = sessions.create(conn, SETTINGS, "u1", "a1", T0)
    second, _ = sessions.create(conn, SETTINGS, "u1", "a1", T0)
    other, _ = sessions.create(conn, SETTINGS, "u2", "a1", T0)
    assert sessions.destroy_all_for_user(conn, "u1") == 2
    assert sessions.load(conn, SETTINGS, first, T0) is None and sessions.load(conn, SETTINGS, second, T0) is None
    assert sessions.load(conn, SETTINGS, other, T0) is not None


def test_unknown_or_oversized_ids_are_refused(app, app_config):
    conn = _redis(app_config)
    assert sessions.load(conn, SETTINGS, "", T0) is None
    assert sessions.load(conn, SETTINGS, "nope", T0) is None
    assert sessions.load(conn, SETTINGS, "x" * 5000, T0) is None
