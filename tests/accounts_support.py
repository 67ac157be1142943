"""Helpers for the accounts tests: a real local SMTP server, and a browser-like HTTPS test client."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Mail goes out from a background thread: wait until `count` messages arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} messages, got {len(self.messages)}")
                self._arrived.wait(left)
            return list(self.messages)

    def last_to(self, address: str) -> EmailMessage:
        for message in reversed(self.messages):
            if message["To"] == address:
                return message
        raise AssertionError(f"no message to {address}")

    def link(self, address: str, path: str) -> str:
        """The token of the last link to `path` mailed to `address` (it travels in the URL fragment)."""
        body = self.last_to(address).get_content()
        match = re.search(re.escape(path) + r"#token=([A-Za-z0-9_\-]+)", body)
        assert match, f"no {path} link in the message"
        return match.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def app_config(app_config: dict, smtp: Inbox) -> dict:
    return accounts_config(app_config, smtp)


def accounts_config(app_config: dict, smtp: Inbox) -> dict:
    """The test app configured for the accounts flows: our SMTP server, HTTPS public URL, regions."""
    return {**app_config, "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "public_url": "https://localhost",
            "egress_allow_loopback": True,  # localorg listens on 127.0.0.1
            "region_urls": {"us-dallas": "https://us.inflow.example", "au-sydney": "https://au.inflow.example"}}


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """The Flask test client speaking HTTPS (so `__Host-`/Secure cookies travel) from one IP."""

    def __init__(self, client, ip: str = "198.51.100.7") -> None:
        self.client = client
        self.ip = ip

    def get(self, path: str, **kw):
        return self.client.get(path, base_url="https://localhost", environ_base={"REMOTE_ADDR": self.ip}, **kw)

    def post(self, path: str, data: dict | None = None, **kw):
        return self.client.post(path, data=data or {}, base_url="https://localhost",
                                environ_base={"REMOTE_ADDR": self.ip}, **kw)

    def csrf(self, page: str) -> str:
        match = CSRF.search(self.get(page).get_data(as_text=True))
        assert match, f"no CSRF field on {page}"
        return match.group(1)

    def submit(self, page: str, action: str, data: dict):
        """What a user does: open the page, fill in the form, press the button."""
        return self.post(action, {**data, "csrf_token": self.csrf(page)})

    def cookie(self, name: str):
        return self.client.get_cookie(name, domain="localhost")


PASSWORD = "correct horse battery staple"


def sign_up(browser: Browser, inbox: Inbox, email_address: str = "ada@example.com", company: str = "Acme",
            password: str = PASSWORD) -> None:
    """Sign up and confirm the email: the browser ends signed in as the new account's admin."""
    count = len(inbox.messages)
    response = browser.submit("/signup", "/signup", {
        "first_name": "Ada", "last_name": "Lovelace", "email": email_address, "company": company,
        "country": "GB", "region": "eu-frankfurt", "password": password})
    assert response.status_code == 200, response.get_data(as_text=True)
    inbox.wait_for(count + 1)
    token = inbox.link(email_address, "/verify")
    response = browser.submit(f"/verify?token={token}", "/verify", {"token": token, "password": password})
    assert response.status_code == 303


def log_in(browser: Browser, email_address: str, password: str = PASSWORD):
    return browser.submit("/login", "/login", {"email": email_address, "password": password})


@pytest.fixture
def localorg_ca(localorg, monkeypatch):
    """Trust this module's localorg CA for the test. Modules that import the localorg fixture each start
    their own server (and CA); with several alive, REQUESTS_CA_BUNDLE names only the latest one."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(localorg.ca_bundle))
    return localorg
