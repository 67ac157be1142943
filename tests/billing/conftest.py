"""Billing fixtures: localstripe (tests/stripe_fake.py), the app pointed at it, localorg for real runs."""

from __future__ import annotations

import pytest

from sfdx.localorg.pytest_plugin import localorg, make_org, org, sf, sf_session  # noqa: F401
from tests.runs.factories import CLIENT_ID, CLIENT_SECRET
from tests.stripe_fake import PRICES, SECRET_KEY, WEBHOOK_SECRET, LocalStripe, localstripe, stripe_config  # noqa: F401


@pytest.fixture
def app_config(app_config: dict, localstripe: LocalStripe) -> dict:  # noqa: F811
    return {**stripe_config(app_config, localstripe), "salesforce_client_id": CLIENT_ID,
            "salesforce_client_secret": CLIENT_SECRET, "egress_allow_loopback": True}
