"""localstripe (the stateful fake Stripe server from PyPI) for tests: started on a free port once per session,
with the two paid plans' prices; `stripe_config` points an app at it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import stripe

from tests.stores import free_port

ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY = "sk_test_inflow_billing_tests"  # pragma: allowlist secret
WEBHOOK_SECRET = "whsec_inflow_billing_tests"  # pragma: allowlist secret
PRICES = {"team": "price_inflow_team", "business": "price_inflow_business"}


class LocalStripe:
    def __init__(self, base: str) -> None:
        self.base = base
        self.client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": base})

    def checkout_log(self) -> dict:
        return requests.get(f"{self.base}/_config/test/checkout", timeout=10).json()

    def delay_first_checkout(self, seconds: float) -> None:
        requests.post(f"{self.base}/_config/test/checkout", json={"delay_first": seconds}, timeout=10)


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.billing.localstripe_server", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):  # a readiness wait for a process starting on a busy machine, not a timing claim
        try:
            requests.get(f"{base}/_config/test/checkout", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    fake = LocalStripe(base)
    product = fake.client.v1.products.create({"name": "Inflow"})
    # Business is billed yearly: moving a subscription to it makes localstripe invoice at once, which is how
    # a declined card turns a subscription past_due there.
    fake.client.v1.plans.create({"id": PRICES["team"], "amount": 4900, "currency": "eur", "interval": "month",
                                 "product": product.id})
    fake.client.v1.plans.create({"id": PRICES["business"], "amount": 199000, "currency": "eur", "interval": "year",
                                 "product": product.id})
    yield fake
    process.terminate()
    process.wait(30)



def stripe_config(app_config: dict, fake: LocalStripe) -> dict:
    return {**app_config, "stripe_secret_key": SECRET_KEY, "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": fake.base, "stripe_price_team": PRICES["team"],
            "stripe_price_business": PRICES["business"], "stripe_timeout_seconds": 1.0}
