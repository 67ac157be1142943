"""The org's daily API allowance read from Sforce-Limit-Info on every response (security check 33)."""

from __future__ import annotations

import time

import pytest

from backend.salesforce import limits
from backend.salesforce.client import LIMIT_RETRY_SECONDS, ApiLimitExceeded
from tests.pipeline.sf_helpers import client  # noqa: F401


def test_usage_is_read_from_every_response(client, org):  # noqa: F811
    client.describe("Contact")
    first = client.api_usage
    client.query_all("SELECT Id FROM Contact")
    assert first is not None and client.api_usage[0] > first[0] and client.api_usage[1] == org.knobs.api_allowance


def test_above_ninety_percent_of_the_allowance_calls_slow_down(client, org, localorg):  # noqa: F811
    localorg.set_knobs([org], api_allowance=100)
    org.api_used = 80
    start = time.monotonic()
    client.query_all("SELECT Id FROM Contact LIMIT 1")  # usage 81 %: no wait
    client.query_all("SELECT Id FROM Contact LIMIT 1")
    assert time.monotonic() - start < 1.0 and client.api_usage == (82, 100)
    org.api_used = 94
    client.query_all("SELECT Id FROM Contact LIMIT 1")  # learns 95 %
    start = time.monotonic()
    client.query_all("SELECT Id FROM Contact LIMIT 1")  # waits 1 s (half way from 90 % to the limit) first
    assert time.monotonic() - start >= 1.0 and client.api_usage == (96, 100)


def test_at_the_limit_the_next_call_is_not_sent_and_waits_about_an_hour(client, org, localorg):  # noqa: F811
    client.describe("Contact")
    localorg.set_knobs([org], api_allowance=org.api_used + 1)
    client.query_all("SELECT Id FROM Contact LIMIT 1")  # the last call the allowance has: usage N/N
    assert limits.exhausted(client.api_usage)
    localorg.set_knobs([org], api_allowance=org.api_used + 100)  # a call would be accepted again ...
    sent = org.api_used
    with pytest.raises(ApiLimitExceeded, match="daily API allowance") as exc:
        client.query_all("SELECT Id FROM Contact LIMIT 1")
    assert org.api_used == sent  # ... but it was not sent: Inflow stops at the limit itself
    assert 0.75 * LIMIT_RETRY_SECONDS <= exc.value.retry_after <= 1.25 * LIMIT_RETRY_SECONDS
    client.query_all("SELECT Id FROM Contact LIMIT 1")  # resumed later, the client asks Salesforce again
    assert org.api_used == sent + 1


def test_a_refused_call_carries_a_jittered_retry_time(client, org, localorg):  # noqa: F811
    waits = set()
    for _ in range(3):
        localorg.set_knobs([org], api_allowance=org.api_used)
        with pytest.raises(ApiLimitExceeded) as exc:
            client.describe("Account" if not waits else "Contact")
        waits.add(exc.value.retry_after)
        client.api_usage = None  # a fresh client of the next attempt
    assert len(waits) == 3


def test_usage_header_parsing():
    assert limits.parse_usage("api-usage=18/5000") == (18, 5000)
    assert limits.parse_usage("per-app-api-usage=17/250(appName=x); api-usage=25/5000") == (25, 5000)
    assert limits.parse_usage("") is None and limits.delay(None) == 0.0
    assert limits.delay((4499, 5000)) == 0.0 and limits.delay((5000, 5000)) == limits.MAX_DELAY_SECONDS
