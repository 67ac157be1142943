"""localorg fixtures (until the root conftest lists the plugin in pytest_plugins) and a tiny REST helper."""

from __future__ import annotations

from typing import Any

import pytest
import requests


class Rest:
    """requests against one org's REST API with its admin token (plain HTTP semantics, no client magic)."""

    def __init__(self, target: Any, session: requests.Session, version: str = "66.0") -> None:
        self.org, self.s, self.version = target, session, version
        self.token = target.ready_token

    def url(self, path: str) -> str:
        return f"{self.org.instance_url}/services/data/v{self.version}/{path.lstrip('/')}"

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return self.s.request(method, self.url(path), headers=headers, timeout=30, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.call("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.call("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.call("DELETE", path, **kw)


@pytest.fixture
def rest(org, sf_session) -> Rest:  # noqa: F811
    return Rest(org, sf_session)
