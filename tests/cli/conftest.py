"""CLI tests talk to localorg; the app trusts loopback Salesforce hosts and knows the test client app."""

from __future__ import annotations

import pytest

from sfdx.localorg.pytest_plugin import localorg, make_org, org, sf, sf_session  # noqa: F401
from tests.runs.factories import CLIENT_ID, CLIENT_SECRET


@pytest.fixture
def app_config(app_config: dict) -> dict:
    return {**app_config, "salesforce_client_id": CLIENT_ID, "salesforce_client_secret": CLIENT_SECRET,
            "egress_allow_loopback": True}
