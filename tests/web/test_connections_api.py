"""/api/connections from the canvas: create (tested first), list, test, browse, preview, rename, delete; secrets
never come back; SFTP host keys are accepted explicitly; every change is audited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from backend.connectors import stored
from backend.extensions import db
from backend.models import AuditEvent, Job
from backend.models.connections import Connection
from sfdx.localorg.pytest_plugin import localorg, make_org, org, sf, sf_session  # noqa: F401
from tests.connectors import filestores, servers
from tests.web.canvas_support import bearer, canvas_config, install, launch


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return {**canvas_config(app_config, localorg, monkeypatch), "egress_allow_loopback": True}


@pytest.fixture
def session(client, org):  # noqa: F811
    install(org)
    return bearer(launch(client, org))


@pytest.fixture(scope="module")
def pg() -> Iterator[dict]:
    with servers.postgres_database() as params:
        yield params


def _url(p: dict) -> str:
    return f"postgresql://{p['user']}:{p['password']}@{p['host']}:{p['port']}/{p['database']}"


def test_a_connection_is_created_tested_browsed_previewed_renamed_and_deleted(client, session, pg):
    created = client.post("/api/connections", json={"name": "ERP", "url": _url(pg)}, headers=session)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["type"] == "postgresql" and body["message"].startswith("Connected to PostgreSQL")
    assert pg["password"] not in created.get_data(as_text=True)
    cid = body["id"]
    listed = client.get("/api/connections", headers=session)
    assert [c["name"] for c in listed.get_json()] == ["ERP"] and pg["password"] not in listed.get_data(as_text=True)
    assert client.post(f"/api/connections/{cid}/test", headers=session).get_json()["ok"] is True
    schemas = client.get(f"/api/connections/{cid}/browse", headers=session).get_json()
    assert "sales" in [e["name"] for e in schemas]
    tables = client.get(f"/api/connections/{cid}/browse?path=sales", headers=session).get_json()
    assert {"name": "people", "kind": "table", "path": "sales.people", "size": None, "modified": None} in tables
    shown = client.post(f"/api/connections/{cid}/preview", headers=session,
                        json={"table": "sales.people", "columns": servers.COLUMNS, "time_zone": "Europe/Berlin"})
    assert shown.get_json() == {"columns": servers.COLUMNS, "rows": [list(r.values()) for r in servers.EXPECTED]}
    renamed = client.patch(f"/api/connections/{cid}", json={"name": "ERP (prod)"}, headers=session)
    assert renamed.get_json()["name"] == "ERP (prod)"
    assert client.post(f"/api/connections/{cid}/test", headers=session).get_json()["ok"] is True  # secret kept
    assert client.delete(f"/api/connections/{cid}", headers=session).status_code == 200
    assert db.session.scalars(select(Connection)).all() == []
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.created_at))
               if e.action.startswith("connection.")]
    assert actions == ["connection.create", "connection.test", "connection.update", "connection.test",
                       "connection.delete"]


def test_a_refused_login_saves_nothing_and_says_which_step_failed(client, session, pg):
    resp = client.post("/api/connections", headers=session,
                       json={"name": "ERP", "url": _url({**pg, "user": "no_such_role"})})
    assert resp.status_code == 400 and resp.get_json()["stage"] == "auth"
    assert db.session.scalars(select(Connection)).all() == []


def test_delete_is_refused_while_a_job_reads_from_it(client, session, pg):
    cid = client.post("/api/connections", json={"name": "ERP", "url": _url(pg)}, headers=session).get_json()["id"]
    row = db.session.get(Connection, cid)
    db.session.add(Job(account_id=row.account_id, name="Nightly people", source={"connection_id": cid},
                       object_name="Contact", operation="insert"))
    db.session.commit()
    resp = client.delete(f"/api/connections/{cid}", headers=session)
    assert resp.status_code == 409 and "'Nightly people'" in resp.get_json()["message"]


def test_an_sftp_host_key_is_saved_only_once_accepted(client, session, tmp_path):
    with filestores.sftp_server(filestores.drop_folder(tmp_path / "drop")) as p:
        url = f"sftp://{p['user']}:{p['password']}@127.0.0.1:{p['port']}/exports"
        first = client.post("/api/connections", json={"name": "Partner", "url": url}, headers=session)
        assert first.status_code == 409 and first.get_json()["host_key"] == p["host_key"]
        assert db.session.scalars(select(Connection)).all() == []
        accepted = client.post("/api/connections", headers=session,
                               json={"name": "Partner", "url": url, "params": {"host_key": p["host_key"]}})
        assert accepted.status_code == 201, accepted.get_json()
        assert accepted.get_json()["details"]["host_key"] == p["host_key"]
        files = client.get(f"/api/connections/{accepted.get_json()['id']}/browse", headers=session).get_json()
        assert "people.csv" in [f["name"] for f in files] and p["password"] not in str(files)


def test_an_edit_by_url_keeps_the_stored_password_and_a_failing_edit_changes_nothing(client, session, pg):
    cid = client.post("/api/connections", json={"name": "ERP", "url": _url(pg)}, headers=session).get_json()["id"]
    no_password = f"postgresql://{pg['user']}@{pg['host']}:{pg['port']}/{pg['database']}?statement_timeout=60"
    edited = client.patch(f"/api/connections/{cid}", json={"name": "ERP 2", "url": no_password}, headers=session)
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["name"] == "ERP 2" and edited.get_json()["details"]["statement_timeout"] == 60
    assert stored.parameters(db.session.get(Connection, cid))["password"] == pg["password"]  # kept
    changed = {**pg, "user": "no_such_role", "password": "new-pw"}  # pragma: allowlist secret
    wrong = client.patch(f"/api/connections/{cid}", headers=session, json={"url": _url(changed)})
    assert wrong.status_code == 400 and wrong.get_json()["stage"] == "auth"
    assert "new-pw" not in wrong.get_data(as_text=True)
    db.session.expire_all()
    assert stored.parameters(db.session.get(Connection, cid))["user"] == pg["user"]
    other_kind = client.patch(f"/api/connections/{cid}", json={"url": "s3://bucket/x"}, headers=session)
    assert other_kind.status_code == 400 and "postgresql" in other_kind.get_json()["message"]
    assert client.post(f"/api/connections/{cid}/test", headers=session).get_json()["ok"] is True
    updates = [e.details for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.created_at))
               if e.action == "connection.update"]
    assert updates == [{"fields": ["name", "statement_timeout"]}]
