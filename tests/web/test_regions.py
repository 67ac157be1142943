"""Regions with two real app instances on two databases (Frankfurt, Dallas), each served over HTTP: an org's
account lives in one region; a launch in the other points there and copies nothing (checklist item 25)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.serving import make_server

from backend import create_app
from backend.extensions import db
from backend.models import Account, AuditEvent, OrgConnection, User
from backend.web.regions import SIGNATURE_HEADER, _signature
from tests.conftest import make_database
from tests.web.canvas_support import bearer, canvas_config, install, launch, signed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dallas_url() -> str:
    return f"http://127.0.0.1:{_free_port()}"


@pytest.fixture
def app_config(app_config, localorg, dallas_url, monkeypatch):  # noqa: F811
    """Frankfurt (the shared `app` fixture) knows where Dallas is."""
    return {**canvas_config(app_config, localorg, monkeypatch), "region_urls": {"us-dallas": dallas_url}}


def _region_app(config: dict, tmp_path, region: str, region_urls: dict[str, str]):
    backend = "sqlite" if config["database_url"].startswith("sqlite") else "postgresql"
    url, drop = make_database(backend, tmp_path)
    other = create_app({**config, "database_url": url, "instance_path": tmp_path / region, "region": region,
                        "region_urls": region_urls})
    with other.app_context():
        upgrade()
    return other, drop


@pytest.fixture
def dallas(app, app_config, live_server, dallas_url, tmp_path) -> Iterator:
    """Dallas: its own database and keys, served on its own port; it knows Frankfurt's URL."""
    other, drop = _region_app(app_config, tmp_path, "us-dallas", {"eu-frankfurt": live_server})
    server = make_server("127.0.0.1", int(dallas_url.rsplit(":", 1)[1]), other, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield other
    server.shutdown()
    thread.join(5)
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def _counts(region_app=None) -> tuple[int, int, int]:
    def count():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Account, User, OrgConnection))
    if region_app is None:
        return count()
    with region_app.app_context():
        return count()


@pytest.fixture
def sf_org(org):  # noqa: F811
    install(org)
    return org


@pytest.mark.promise("data-stays-in-region")
def test_launch_in_the_other_region_points_home_and_copies_nothing(client, dallas, sf_org, live_server):
    launch(client, sf_org)  # first launch: Frankfurt asks Dallas, which does not know the org
    assert db.session.scalars(select(Account)).one().region == "eu-frankfurt"
    request = signed(sf_org)
    resp = dallas.test_client().post("/canvas", data={"signed_request": request})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "Frankfurt" in page and live_server in page
    assert f'action="{live_server}/canvas"' in page
    assert live_server in resp.headers["Content-Security-Policy"].split("form-action")[1].split(";")[0]
    assert _counts(dallas) == (0, 0, 0)
    with dallas.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.account_id.is_not(None))).all() == []
    renewal = dallas.test_client().post("/canvas/token", data={"signed_request": request})
    assert renewal.status_code == 409 and renewal.json == {"error": "elsewhere", "region": "eu-frankfurt",
                                                             "url": live_server}
    followed = requests.post(f"{live_server}/canvas", data={"signed_request": request}, timeout=30)
    assert followed.status_code == 200  # the button carries the request home; Frankfurt serves it
    assert _counts() == (1, 1, 1)


def test_an_org_new_to_both_is_provisioned_in_the_region_it_opened_in(client, dallas, sf_org, dallas_url):
    dallas_client = dallas.test_client()
    token = launch(dallas_client, sf_org)
    with dallas.app_context():
        assert db.session.scalars(select(Account)).one().region == "us-dallas"
    assert _counts() == (0, 0, 0)
    resp = client.post("/canvas", data={"signed_request": signed(sf_org)})  # now Frankfurt asks Dallas
    assert resp.status_code == 409 and dallas_url in resp.get_data(as_text=True)
    assert _counts() == (0, 0, 0)
    assert client.get("/api/instances", headers=bearer(token)).status_code == 401  # Dallas's token is not ours
    assert dallas_client.get("/api/instances", headers=bearer(token)).status_code == 200


def test_an_unreachable_region_fails_closed(app_config, sf_org, tmp_path):
    sydney, drop = _region_app(app_config, tmp_path, "au-sydney",
                               {"eu-frankfurt": f"http://127.0.0.1:{_free_port()}"})  # nobody listens there
    try:
        resp = sydney.test_client().post("/canvas", data={"signed_request": signed(sf_org)})
        assert resp.status_code == 503 and "Try again" in resp.get_data(as_text=True)
        assert _counts(sydney) == (0, 0, 0)
    finally:
        with sydney.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


@pytest.mark.promise("data-stays-in-region")
def test_an_account_pinned_to_another_region_is_not_served_here(client, sf_org, dallas_url):
    db.session.add(Account(company="Moved", region="us-dallas", salesforce_org_id=sf_org.id))
    db.session.commit()
    resp = client.post("/canvas", data={"signed_request": signed(sf_org)})
    assert resp.status_code == 409 and "Dallas" in resp.get_data(as_text=True)
    assert _counts() == (1, 0, 0)


def test_the_directory_answers_only_signed_questions_about_its_own_accounts(app, client, dallas, sf_org):
    launch(client, sf_org)
    settings = app.extensions["inflow.settings"]

    def ask(org_id: str, timestamp: int | None = None, sig: str | None = None):
        timestamp = int(time.time()) if timestamp is None else timestamp
        header = f"t={timestamp},v1={sig or _signature(settings, org_id, timestamp)}"
        return client.post("/api/regions/lookup", json={"org_id": org_id}, headers={SIGNATURE_HEADER: header})

    assert ask(sf_org.id).json == {"region": "eu-frankfurt"}
    assert ask("00D000000000009AAA").status_code == 404
    assert ask(sf_org.id, sig="0" * 64).status_code == 401
    assert ask(sf_org.id, timestamp=int(time.time()) - 600).status_code == 401
    assert client.post("/api/regions/lookup", json={"org_id": sf_org.id}).status_code == 401
    assert ask("'; drop table accounts; --").status_code == 401
