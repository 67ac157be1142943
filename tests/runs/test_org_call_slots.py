"""The per-org cap on concurrent calls, held in a real Redis across clients (workers) and freed by expiry."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import redis

from backend.salesforce.call_slots import OrgCallSlots
from backend.salesforce.client import SalesforceClient


class InFlight:
    """Counts the calls inside their slot, to find the most that were ever at Salesforce at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.lock = threading.Lock()

    def around(self, hold):
        @contextmanager
        def counted():
            with hold():
                with self.lock:
                    self.now += 1
                    self.most = max(self.most, self.now)
                try:
                    yield
                finally:
                    with self.lock:
                        self.now -= 1
        return counted


def test_two_workers_with_six_threads_each_never_exceed_the_org_s_cap(redis_url, org, localorg):
    localorg.set_knobs([org], latency_ms=60)
    counter, clients = InFlight(), []
    for _ in range(2):  # two workers: their own client, Redis connection and semaphore object, one org
        c = SalesforceClient(org.instance_url, org.ready_token, ca_bundle=str(localorg.ca_path))
        c.call_slot = counter.around(OrgCallSlots(redis.Redis.from_url(redis_url), org.id, cap=3, ttl=60).hold)
        clients.append(c)
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda i: clients[i % 2].query_all("SELECT Id FROM Contact LIMIT 1"), range(36)))
    localorg.set_knobs([org], latency_ms=0)
    assert len(answers) == 36 and counter.most == 3 and counter.now == 0
    assert OrgCallSlots(redis.Redis.from_url(redis_url), org.id, cap=3, ttl=60).in_use() == 0


def test_a_slot_of_a_dead_worker_frees_itself_after_its_expiry(redis_url):
    conn = redis.Redis.from_url(redis_url)
    slots = OrgCallSlots(conn, "00Dkilled", cap=1, ttl=1.5)
    assert slots.try_take() is not None  # taken by a worker that is then killed: never released
    assert slots.try_take() is None and slots.in_use() == 1
    time.sleep(1.6)
    token = slots.try_take()
    assert token is not None and slots.in_use() == 1
    slots.release(token)
    assert slots.in_use() == 0


def test_calls_go_ahead_without_a_slot_while_redis_cannot_be_reached(org, localorg):
    from tests.stores import free_port

    gone = redis.Redis(port=free_port(), socket_connect_timeout=1)  # nothing listens there
    client = SalesforceClient(org.instance_url, org.ready_token, ca_bundle=str(localorg.ca_path))
    client.call_slot = OrgCallSlots(gone, org.id, cap=1, ttl=60).hold
    assert client.query_all("SELECT Id FROM Contact LIMIT 1") is not None  # a Redis restart fails no run
