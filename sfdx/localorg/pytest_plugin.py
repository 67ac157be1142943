"""pytest plugin: a session-wide localorg server and cheap fresh orgs per test.

Enable with `pytest_plugins = ["sfdx.localorg.pytest_plugin"]` in the root conftest.py.
Fixtures:
  localorg      LocalOrgServer on a free port with a temp state dir (once per session); sets
                REQUESTS_CA_BUNDLE to a bundle that trusts the local CA (restored afterwards)
  make_org      factory: make_org(name=None, source_dir=None, namespace=None) -> Org, dropped after the test
  org           a fresh Org for this test
  sf_session    requests.Session verifying against the local CA only
  sf            simple_salesforce.Salesforce bound to `org` (admin session)
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from .org import Org
from .server import LocalOrgServer

_names = itertools.count(1)


@pytest.fixture(scope="session")
def localorg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrgServer]:
    state = tmp_path_factory.mktemp("localorg") / "localorg.json"
    srv = LocalOrgServer(state_file=state).start()
    saved = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = str(srv.ca_bundle)
    try:
        yield srv
    finally:
        srv.stop()
        if saved is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = saved


@pytest.fixture
def make_org(localorg: LocalOrgServer) -> Iterator[Callable[..., Org]]:
    made: list[Org] = []

    def factory(name: str | None = None, **kw: Any) -> Org:
        org = localorg.create_org(name or f"t{next(_names)}", write_state=False, **kw)
        made.append(org)
        return org

    yield factory
    for org in made:
        localorg.drop_org(org)


@pytest.fixture
def org(make_org: Callable[..., Org]) -> Org:
    return make_org()


@pytest.fixture
def sf_session(localorg: LocalOrgServer) -> Iterator[requests.Session]:
    s = requests.Session()
    s.verify = str(localorg.ca_path)
    s.trust_env = False  # otherwise REQUESTS_CA_BUNDLE from the environment overrides `verify`
    yield s
    s.close()


@pytest.fixture
def sf(org: Org, sf_session: requests.Session) -> Any:
    # Imported here: the plugin loads in every test session, only tests using `sf` need the client (~0.9 s).
    from simple_salesforce import Salesforce

    return Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
