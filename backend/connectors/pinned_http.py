"""boto3 connecting to the address the egress guard checked, never to a second lookup of the name.

botocore opens its sockets through urllib3, which resolves the host itself when it connects: a name that
answers a public address to the guard and a private one a moment later (DNS rebinding) would get past the
check. `pin(client, resolver)` swaps the client's connection pools for ones whose connections ask `resolver`
(the guard, once per name and client) for the address and connect to that. The name itself stays the
connection's host, so TLS still sends it as SNI and verifies the certificate against it, and the Host header
and the request signature are unchanged.

Through a proxy (HTTPS_PROXY), the sockets go to the proxy, so the proxy's address is what is checked.
Relies on botocore's URLLib3Session and urllib3 2's `_dns_host` (both pinned in requirements.txt).
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.awsrequest import AWSHTTPConnection, AWSHTTPConnectionPool, AWSHTTPSConnection, AWSHTTPSConnectionPool

from backend.connectors import guard


class Resolver:
    """The guard's answer for each (host, port), looked up once and kept for the client's life."""

    def __init__(self, *, allow_loopback: bool) -> None:
        self.allow_loopback = allow_loopback
        self._answers: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    def address(self, host: str, port: int) -> str:
        key = (host.rstrip(".").lower(), port)
        with self._lock:
            if key not in self._answers:
                self._answers[key] = guard.resolve(key[0], port, allow_loopback=self.allow_loopback)
            return self._answers[key]


class _Pinned:
    """Connection mixin: the socket goes to the resolver's address; `host` is the name again before TLS."""

    resolver: Resolver

    def _new_conn(self) -> Any:
        name = self._dns_host  # type: ignore[has-type]
        self._dns_host = self.resolver.address(name, self.port)  # type: ignore[attr-defined]
        try:
            return super()._new_conn()  # type: ignore[misc]
        finally:
            self._dns_host = name


def _pool_classes(resolver: Resolver) -> dict[str, type]:
    http = type("PinnedHTTPConnection", (_Pinned, AWSHTTPConnection), {"resolver": resolver})
    https = type("PinnedHTTPSConnection", (_Pinned, AWSHTTPSConnection), {"resolver": resolver})
    return {"http": type("PinnedHTTPConnectionPool", (AWSHTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("PinnedHTTPSConnectionPool", (AWSHTTPSConnectionPool,), {"ConnectionCls": https})}


def pin(client: Any, resolver: Resolver) -> Any:
    """The boto3 client, its connections pinned to what `resolver` checked (set before its first request)."""
    session = client._endpoint.http_session
    classes = _pool_classes(resolver)
    session._pool_classes_by_scheme = classes  # proxy managers made later take these too
    session._manager.pool_classes_by_scheme = classes
    return client
