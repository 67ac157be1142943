"""TLS for Salesforce calls: one SSLContext per CA bundle for the whole process, shared by every pool.

requests hands urllib3 the CA bundle's path, and urllib3 builds a new SSLContext and loads the bundle for
every new connection (65 ms for certifi's, measured: 16 connections of a Bulk run cost a second of CPU).
`SharedTlsAdapter` gives urllib3 a context already loaded instead, so a connection only does its handshake.
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
from typing import Any

import requests
from requests.utils import DEFAULT_CA_BUNDLE_PATH

_LOCK = threading.Lock()


def tls_context(ca_bundle: str) -> ssl.SSLContext:
    """A verifying client context trusting `ca_bundle` (a file or a directory), loaded once."""
    # Under a lock: the first calls come from many threads at once (a run's parallel calls), and each
    # would otherwise build a context of its own, and with it a pool of its own for the same host.
    with _LOCK:
        return _tls_context(ca_bundle)


@functools.lru_cache(maxsize=8)
def _tls_context(ca_bundle: str) -> ssl.SSLContext:
    if os.path.isdir(ca_bundle):
        return ssl.create_default_context(capath=ca_bundle)
    return ssl.create_default_context(cafile=ca_bundle)


tls_context.cache_clear = _tls_context.cache_clear  # type: ignore[attr-defined]


def _bundle(verify: Any) -> str | None:
    """The CA bundle a `verify` value names; None for verify=False (never used by Inflow's clients)."""
    if verify is False or verify is None:
        return None
    return DEFAULT_CA_BUNDLE_PATH if verify is True else str(verify)


class SharedTlsAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter whose HTTPS pools use the process's shared, preloaded context for their CA bundle."""

    def build_connection_pool_key_attributes(self, request: Any, verify: Any, cert: Any = None) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        bundle = _bundle(verify)
        if bundle is not None and host_params.get("scheme") == "https":
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["ssl_context"] = tls_context(bundle)  # part of the pool's key: one pool per host
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        if url.lower().startswith("https") and _bundle(verify) is not None:
            # The context already trusts the bundle; a path here would make urllib3 load it once more.
            conn.ca_certs = None
            conn.ca_cert_dir = None
