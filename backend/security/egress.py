"""SSRF guard for every connection to a host or URL a user typed in (databases, webhooks, storage).

API:
- `check_host(host, port, allowed_ports=...) -> list[str]`: resolve once, refuse when ANY address is
  loopback, private, link-local, multicast, reserved, unspecified, shared (CGNAT) or a cloud metadata
  endpoint, or when the port is not allowed; returns the checked addresses. Connect to one of THESE
  addresses (e.g. psycopg `hostaddr=`), never to the name again: a second lookup could be rebound.
- `safe_session(allowed_ports=...) -> requests.Session`: every request resolves and checks its host,
  connects to the checked address with SNI, certificate check and Host header for the original name,
  and follows redirects only to the same host (each hop checked again).
- Loopback is allowed only when settings.egress_allow_loopback is set (tests and the local demo; refused
  in production), and then only loopback, on any port: localorg listens on random ports.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

WEB_PORTS = frozenset({443, 80})
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure IMDS, OpenStack, DigitalOcean
    "fd00:ec2::254",  # AWS IMDS over IPv6
    "169.254.170.2",  # AWS ECS task metadata
    "100.100.100.200",  # Alibaba Cloud
    "168.63.129.16",  # Azure WireServer: a public address, so the other checks would let it through
    "192.0.0.192",  # Oracle Cloud
))

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class EgressBlocked(ConnectionError):
    """The destination is not allowed; the message is safe to show to the user."""


def _allow_loopback() -> bool:
    from flask import current_app, has_app_context

    return has_app_context() and bool(current_app.extensions["inflow.settings"].egress_allow_loopback)


def _embedded_ipv4(ip: IPAddress) -> IPAddress | None:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return None


def forbidden_reason(ip: IPAddress, allow_loopback: bool = False) -> str | None:
    """Why this address may not be reached, or None when it may."""
    inner = _embedded_ipv4(ip)
    if inner is not None:
        return forbidden_reason(inner, allow_loopback)
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    for reason, flag in (("an unspecified address", ip.is_unspecified), ("a link-local address", ip.is_link_local),
                         ("a multicast address", ip.is_multicast), ("a private address", ip.is_private),
                         ("a reserved address", ip.is_reserved), ("a non-public address", not ip.is_global)):
        if flag:
            return reason
    return None


def check_host(host: str, port: int, allowed_ports: Iterable[int] = WEB_PORTS,
               allow_loopback: bool | None = None) -> list[str]:
    """Resolve `host` once and return its addresses if every one of them may be reached on `port`."""
    allow_loopback = _allow_loopback() if allow_loopback is None else allow_loopback
    host = (host or "").strip().strip("[]")
    if not host or len(host) > 253 or any(c in host for c in "/\\@ \t\r\n"):
        raise EgressBlocked("enter a host name or address")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EgressBlocked(f"{host} could not be resolved") from exc
    addresses = list(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
    if not addresses:
        raise EgressBlocked(f"{host} could not be resolved")
    ips = [ipaddress.ip_address(a) for a in addresses]
    for ip in ips:
        reason = forbidden_reason(ip, allow_loopback)
        if reason:
            raise EgressBlocked(f"{host} resolves to {reason}, which Inflow does not connect to")
    loopback_only = allow_loopback and all(ip.is_loopback for ip in ips)
    if port not in set(allowed_ports) and not loopback_only:
        raise EgressBlocked(f"port {port} is not allowed")
    return addresses


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


class PinnedAdapter(HTTPAdapter):
    """Connects to the address check_host approved; TLS still verifies the certificate for the name."""

    def __init__(self, allowed_ports: Iterable[int], allow_loopback: bool, **kwargs) -> None:
        self.allowed_ports = frozenset(allowed_ports)
        self.allow_loopback = allow_loopback
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs):
        parts = urlsplit(request.url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise EgressBlocked("only http and https URLs are allowed")
        if parts.username or parts.password:
            raise EgressBlocked("URLs with credentials are not allowed")
        request.headers["Host"] = parts.netloc
        return super().send(request, **kwargs)

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        parts = urlsplit(request.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = check_host(parts.hostname, port, self.allowed_ports, self.allow_loopback)[0]
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        host_params["host"] = address
        if parts.scheme == "https" and not _is_ip_literal(parts.hostname):
            pool_kwargs["server_hostname"] = parts.hostname  # SNI
            pool_kwargs["assert_hostname"] = parts.hostname  # certificate must name the host, not the IP
        return self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)


class SafeSession(requests.Session):
    """A requests.Session that follows redirects only to the host it was asked for."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target is not None:
            new = urlsplit(requests.compat.urljoin(resp.url, target))
            old = urlsplit(resp.url)
            if (new.hostname, new.port, new.scheme) != (old.hostname, old.port, old.scheme):
                resp.close()  # requests would close it only after following; its connection must not leak
                raise EgressBlocked("the server redirected to another host, which Inflow does not follow")
        return target


def safe_session(allowed_ports: Iterable[int] = WEB_PORTS, allow_loopback: bool | None = None,
                 session: SafeSession | None = None) -> requests.Session:
    """A session for user-supplied URLs; see the module docstring. `session` is a SafeSession (subclass) to
    configure instead of a new one: an OAuth client session (connectors/oauth.py)."""
    allow_loopback = _allow_loopback() if allow_loopback is None else allow_loopback
    session = SafeSession() if session is None else session
    session.trust_env = False  # an environment proxy would do its own DNS lookup and defeat the pinning
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or True  # the local CA in tests; never False
    session.max_redirects = 5
    adapter = PinnedAdapter(allowed_ports, allow_loopback)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
