"""A cap on concurrent calls to one org across all runs, workers and machines: a semaphore in Redis.

Salesforce refuses an org's 26th concurrent long-running request (one over 20 s); Inflow keeps its own
calls under a configurable cap. Each slot is a member of a sorted set scored by its expiry, so a slot of a
worker killed mid-call frees itself after `ttl` seconds instead of being held forever. Calls go ahead
without a slot while Redis is unreachable (see `hold`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from backend.backoff import jittered

log = logging.getLogger(__name__)

# KEYS[1] the org's set; ARGV: cap, ttl seconds, token. Redis's clock, so machines' clocks need not agree.
_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[3])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
  return 1
end
return 0
"""
WAIT_SECONDS = 0.05


def slots_key(org_key: str) -> str:
    return f"inflow:org:{org_key}:call-slots"


class OrgCallSlots:
    """At most `cap` calls to the org identified by `org_key` at once, whoever makes them."""

    def __init__(self, conn: Any, org_key: str, cap: int, ttl: float) -> None:
        self.conn, self.key, self.cap, self.ttl = conn, slots_key(org_key), cap, ttl
        self._take = conn.register_script(_TAKE)

    def try_take(self) -> str | None:
        """A slot's token, or None when all `cap` slots are held."""
        token = uuid.uuid4().hex
        return token if self._take(keys=[self.key], args=[self.cap, self.ttl, token]) else None

    def release(self, token: str) -> None:
        self.conn.zrem(self.key, token)

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Wait for a free slot (polling, jittered so waiters do not wake together), hold it for the block.

        Fails open: while Redis cannot be reached the call goes ahead without a slot. The cap protects the
        org's shared limit; a Redis restart must not fail the runs that are moving (Salesforce still refuses
        a 26th long call, which the run retries)."""
        try:
            token = self.try_take()
            while token is None:
                time.sleep(jittered(WAIT_SECONDS, 0.5))
                token = self.try_take()
        except redis.RedisError as err:
            log.warning("org call cap not applied (Redis unreachable): %s", type(err).__name__)
            token = None
        try:
            yield
        finally:
            if token is not None:
                try:
                    self.release(token)
                except redis.RedisError:
                    pass  # the slot expires by itself

    def in_use(self) -> int:
        """How many unexpired slots are held now (for tests and operators)."""
        now = self.conn.time()
        return int(self.conn.zcount(self.key, now[0] + now[1] / 1e6, "+inf"))
