"""One TLS context per CA bundle for the process and one pool per host: no CA loading per connection."""

from __future__ import annotations

import ssl
from concurrent.futures import ThreadPoolExecutor

import pytest

from backend.errors import RetriableSalesforceError
from backend.salesforce.client import SalesforceClient
from backend.salesforce.transport import tls_context


@pytest.fixture
def ca_loads(monkeypatch):
    """How often any SSLContext loads CA certificates (the real method runs; the count is only watched)."""
    calls = []
    real = ssl.SSLContext.load_verify_locations

    def watched(self, *args, **kwargs):
        calls.append(args or kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", watched)
    tls_context.cache_clear()
    return calls


def test_sixteen_connections_of_two_runs_load_the_ca_bundle_once(org, localorg, ca_loads):
    localorg.set_knobs([org], latency_ms=50)  # calls overlap, so the pool opens many connections
    try:
        for _ in range(2):  # two runs (clients) in one worker process
            client = SalesforceClient(org.instance_url, org.ready_token, ca_bundle=str(localorg.ca_path))
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda _, c=client: c.query_all("SELECT Id FROM Contact LIMIT 1"), range(48)))
            pools = client.session.get_adapter("https://").poolmanager.pools
            keys = list(pools.keys())
            assert len({(k.key_host, k.key_port) for k in keys}) == len(keys)  # one pool per host
            [mine] = [k for k in keys if f":{k.key_port}" in org.instance_url]
            assert pools[mine].num_connections >= 8
    finally:
        localorg.set_knobs([org], latency_ms=0)
    assert len(ca_loads) == 1


def test_the_shared_context_still_verifies_the_server(org, localorg):
    client = SalesforceClient(org.instance_url, org.ready_token)  # trusts only the public CAs (certifi)
    client.session.trust_env = False  # REQUESTS_CA_BUNDLE (localorg's CA, set by the test plugin) not taken
    with pytest.raises(RetriableSalesforceError) as exc:
        client.query_all("SELECT Id FROM Contact LIMIT 1")
    assert "CERTIFICATE_VERIFY_FAILED" in (exc.value.detail or "")
