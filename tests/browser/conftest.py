"""The real stack for browser tests: localorg (HTTPS, canvas host), Inflow web over HTTPS, a real worker, Chromium.

- Inflow is served by werkzeug in a thread with localorg's server certificate (it names 127.0.0.1), so the
  canvas iframe is HTTPS inside localorg's HTTPS page, as in Salesforce.
- Chromium is Debian's /usr/bin/chromium driven by Playwright's sync API (no browser download); it trusts
  exactly that certificate's public key (--ignore-certificate-errors-spki-list), nothing else.
- The worker is `python -m worker` in its own process group against the same database and Redis.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Browser, Page
from werkzeug.serving import make_server

from sfdx.localorg.tls import server_context
from tests.servers import stop_server, track_requests
from tests.web.canvas_support import CLIENT_ID, SECRET, canvas_config

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _certs(srv: Any) -> tuple[Path, Path]:
    folder = Path(srv.ca_path).parent
    return folder / "server.pem", folder / "server.key"


def _spki_hash(cert_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


class _Late:
    """A WSGI app filled in after the server socket is bound (the app's settings need the server's URL)."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@pytest.fixture
def inflow_server(localorg) -> Iterator[tuple[str, _Late, Callable[[], None]]]:  # noqa: F811
    """The HTTPS server, its late-bound app, and `stop` (idempotent): live_app stops serving before the app's
    own teardown empties tables and closes connections, so no request is mid-way through them."""
    cert, key = _certs(localorg)
    late = _Late()
    server = make_server("127.0.0.1", 0, late, threaded=True, ssl_context=server_context(cert, key))
    track_requests(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stopped: list[bool] = []

    def stop() -> None:
        if not stopped:
            stopped.append(True)
            stop_server(server, thread)
    yield f"https://127.0.0.1:{server.server_port}", late, stop
    stop()


@pytest.fixture
def inflow_url(inflow_server) -> str:
    return inflow_server[0]


@pytest.fixture
def app_config(app_config, localorg, inflow_url, monkeypatch):  # noqa: F811
    return {**canvas_config(app_config, localorg, monkeypatch), "public_url": inflow_url}


@pytest.fixture
def live_app(app, inflow_server) -> Iterator[Any]:
    inflow_server[1].app = app
    yield app
    inflow_server[2]()


@pytest.fixture
def worker(live_app, app_config, localorg) -> Iterator[subprocess.Popen]:  # noqa: F811
    env = {**os.environ, "INFLOW_ENV": "test", "DATABASE_URL": app_config["database_url"],
           "REDIS_URL": app_config["redis_url"], "INFLOW_KEYS": live_app.extensions["inflow.keyring"].to_json(),
           "INFLOW_INSTANCE_PATH": str(app_config["instance_path"]), "SALESFORCE_CLIENT_ID": CLIENT_ID,
           "SALESFORCE_CLIENT_SECRET": SECRET, "INFLOW_EGRESS_ALLOW_LOOPBACK": "1",
           "REQUESTS_CA_BUNDLE": str(localorg.ca_bundle)}
    proc = subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    yield proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


@pytest.fixture
def browser(chromium) -> Browser:
    return chromium  # one Chromium for the whole session (tests/conftest.py)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot under test-artifacts/ (git-ignored), for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
