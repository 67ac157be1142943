"""Fixtures for schedule tests: localorg with the package, an app that trusts it, a real SMTP server."""

from __future__ import annotations

import pytest

from sfdx.localorg.pytest_plugin import localorg, make_org, org, sf, sf_session  # noqa: F401
from tests.accounts_support import smtp  # noqa: F401
from tests.runs.factories import CLIENT_ID, CLIENT_SECRET


@pytest.fixture
def app_config(app_config: dict, smtp) -> dict:  # noqa: F811 - the smtp fixture
    return {**app_config, "salesforce_client_id": CLIENT_ID, "salesforce_client_secret": CLIENT_SECRET,
            "egress_allow_loopback": True, "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
            "public_url": "https://inflow.example"}
