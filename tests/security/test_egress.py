"""The SSRF guard: private, loopback, link-local and metadata destinations are refused before connecting."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from backend.security.egress import EgressBlocked, check_host, forbidden_reason, safe_session
from tests.accounts_support import localorg_ca  # noqa: F401

BLOCKED_HOSTS = ["127.0.0.1", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "::1", "[::1]",
                 "0x7f000001", "2130706433", "127.1", "0.0.0.0", "localhost", "fd00:ec2::254", "::ffff:127.0.0.1",
                 "::ffff:169.254.169.254", "2002:7f00:1::", "fe80::1", "224.0.0.1", "100.64.0.1", "240.0.0.1",
                 "168.63.129.16", "100.100.100.200", "fc00::1"]


@pytest.mark.parametrize("host", BLOCKED_HOSTS)
@pytest.mark.promise("egress-guard")
def test_non_public_destinations_are_refused(host):
    with pytest.raises(EgressBlocked):
        check_host(host, 443, allow_loopback=False)


def test_metadata_and_private_stay_blocked_when_loopback_is_allowed():
    for host in ("169.254.169.254", "10.0.0.5", "fd00:ec2::254", "::ffff:10.0.0.1"):
        with pytest.raises(EgressBlocked):
            check_host(host, 443, allow_loopback=True)
    assert check_host("127.0.0.1", 8443, allow_loopback=True) == ["127.0.0.1"]


@pytest.mark.promise("egress-guard")
def test_every_resolved_address_is_checked(monkeypatch):
    """A name with one public and one private address is refused (an attacker controls their DNS)."""
    real = socket.getaddrinfo

    def two_answers(host, port, *args, **kwargs):
        if host == "mixed.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    with pytest.raises(EgressBlocked, match="private"):
        check_host("mixed.example", 443)


@pytest.mark.promise("egress-guard")
def test_only_allowed_ports():
    assert forbidden_reason(__import__("ipaddress").ip_address("93.184.216.34")) is None
    with pytest.raises(EgressBlocked, match="port"):
        check_host("93.184.216.34", 6379)
    assert check_host("93.184.216.34", 5432, allowed_ports={5432}) == ["93.184.216.34"]


def test_safe_session_refuses_loopback_unless_allowed(localorg, localorg_ca):  # noqa: F811
    url = f"{localorg.base_url}/services/oauth2/userinfo"
    with pytest.raises(EgressBlocked):
        safe_session(allow_loopback=False).get(url, timeout=5)
    response = safe_session(allow_loopback=True).get(url, timeout=5)
    assert response.status_code == 403  # reached localorg over verified TLS: it wants a token


@pytest.mark.promise("egress-guard")
def test_safe_session_connects_to_the_checked_address_without_a_second_lookup(localorg, localorg_ca, monkeypatch):  # noqa: F811
    """DNS rebinding: the first answer is checked and used; a later, different answer is never asked for."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host == "localhost":
            asked.append(host)
            address = "127.0.0.1" if len(asked) == 1 else "10.255.255.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = localorg.base_url.replace("127.0.0.1", "localhost") + "/services/oauth2/userinfo"
    response = safe_session(allow_loopback=True).get(url, timeout=5)
    assert response.status_code == 403  # TLS verified the certificate for "localhost" (SNI preserved)
    assert asked == ["localhost"]


@pytest.mark.promise("egress-guard")
def test_tls_is_verified(localorg):  # noqa: F811
    session = safe_session(allow_loopback=True)
    session.verify = True  # the public CA bundle does not trust localorg's certificate
    with pytest.raises(requests.exceptions.SSLError):
        session.get(localorg.base_url + "/services/oauth2/userinfo", timeout=5)


class _Redirector(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's hook name
        port = self.server.server_port
        target = {"/same": "/done", "/elsewhere": f"http://localhost:{port}/done"}.get(self.path)
        self.send_response(302 if target else 200)
        if target:
            self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def redirector():
    server = HTTPServer(("127.0.0.1", 0), _Redirector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.mark.promise("egress-guard")
def test_redirects_to_another_host_are_not_followed(redirector):
    session = safe_session(allow_loopback=True)
    same = session.get(f"{redirector}/same", timeout=5)
    assert same.status_code == 200 and same.url.endswith("/done")
    with pytest.raises(EgressBlocked, match="another host"):
        session.get(f"{redirector}/elsewhere", timeout=5)


def test_production_refuses_the_loopback_flag():
    import dataclasses

    from backend.settings import Settings, SettingsError

    settings = dataclasses.replace(Settings(), env="production", keys="k", salesforce_client_id="id",
                                   salesforce_client_secret="s", database_url="postgresql://db/inflow",
                                   egress_allow_loopback=True)
    with pytest.raises(SettingsError, match="LOOPBACK"):
        settings.check()
