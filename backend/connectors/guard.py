"""The egress guard as connectors use it: resolve a host once, refuse non-public addresses, connect to the result."""

from __future__ import annotations

import os
import ssl

from backend.connectors.base import ConnectorError
from backend.security.egress import EgressBlocked, check_host


def resolve(host: str, port: int, *, allow_loopback: bool) -> str:
    """The checked address to connect to (never the name again: a second lookup could be rebound).

    Any port is allowed: what the guard protects is which machines Inflow reaches, and databases and
    file servers listen on ports of their owners' choosing.
    """
    try:
        return check_host(host, port, allowed_ports=(port,), allow_loopback=allow_loopback)[0]
    except EgressBlocked as err:
        stage = "dns" if "could not be resolved" in str(err) else "egress"
        raise ConnectorError(stage, f"{err}.") from None


def tls_context() -> ssl.SSLContext:
    """Certificate and name verification on; the same trust as `security/egress.safe_session` (the system's
    CAs, or REQUESTS_CA_BUNDLE: the local CA in tests and the demo)."""
    return ssl.create_default_context(cafile=os.environ.get("REQUESTS_CA_BUNDLE") or None)
