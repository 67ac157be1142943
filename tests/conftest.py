"""Shared fixtures: the app on SQLite and PostgreSQL (one session each), real Redis, clean tables per test."""

from __future__ import annotations

import os
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from backend import create_app
from backend.extensions import db
from backend.queues import embedded_redis_url
from tests.servers import stop_server, track_requests

# One localorg server (and one CA) for the whole session, shared by every test directory.
# The promise check (tests/promise_check.py) ties backend/promises.toml to the tests marked with its ids.
pytest_plugins = ["sfdx.localorg.pytest_plugin", "tests.promise_check"]

# INFLOW_TEST_DATABASES picks the backends every database test runs on; CI runs both in one session.
BACKENDS = [b for b in os.environ.get("INFLOW_TEST_DATABASES", "sqlite").split(",") if b]
# The heaviest drills (separate worker processes killed, Redis and PostgreSQL restarted) run once, on the
# database production uses when the suite has it; they prove process and network faults, not SQL dialects.
DRILL_DATABASES = ["postgresql"] if "postgresql" in BACKENDS else BACKENDS
PG_SERVER = os.environ.get("INFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Debian's Chromium through Playwright")


def make_database(backend: str, tmp: Path) -> tuple[str, callable]:
    """A new empty database on `backend`; returns its URL and a function that drops it."""
    if backend == "sqlite":
        path = tmp / f"inflow-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    name = f"inflow_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_SERVER.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    url = embedded_redis_url(tmp_path_factory.mktemp("redis"))
    yield url
    try:
        redis_lib.Redis.from_url(url).shutdown(nosave=True)  # the embedded server is a daemon: stop it
    except redis_lib.ConnectionError:
        pass  # it closes the connection as it goes


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, drop = make_database(request.param, tmp_path_factory.mktemp("db"))
    app = create_app({"env": "test", "database_url": url, "redis_url": "redis://unused",
                      "instance_path": tmp_path_factory.mktemp("migrate")})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    drop()


@pytest.fixture
def app_config(database_url: str, redis_url: str, tmp_path: Path) -> dict:
    return {"env": "test", "database_url": database_url, "redis_url": redis_url,
            "instance_path": tmp_path / "instance", "dev_upload_token": "dev-token-for-tests"}


@pytest.fixture
def app(app_config: dict) -> Iterator:
    app = create_app(app_config)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        redis_lib.Redis.from_url(app_config["redis_url"]).flushdb()
        db.engine.dispose()


_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


@event.listens_for(Engine, "engine_connect")
def _remember_engine(connection) -> None:
    _engines.add(connection.engine)


@pytest.fixture(autouse=True)
def _close_database_connections() -> Iterator[None]:
    """Close pooled connections of every engine a test made (apps built inside tests, CLI runs), so none
    is left for the garbage collector to find open during a later test."""
    yield
    for engine in list(_engines):
        engine.dispose()


def _empty_tables() -> None:
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app served over real HTTP on a free loopback port, in a thread of this process."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    track_requests(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    stop_server(server, thread)


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def chromium(localorg) -> Iterator:
    """Debian's Chromium under Playwright, once per session: a second sync driver in one thread refuses to
    start. It trusts exactly localorg's server key (which Inflow's HTTPS test servers reuse), nothing else."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from playwright.sync_api import sync_playwright

    cert = x509.load_pem_x509_certificate((Path(localorg.ca_path).parent / "server.pem").read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    pin = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM,
                                         args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={pin}"])
        yield browser
        browser.close()
