"""The schedule and notification API over HTTP with the canvas app token: an upload job says why it cannot
be scheduled; a connection job gets a rule, the next five runs in its zone and UTC, pause, resume, delete,
notifications, each change audited; another account's job stays out of reach."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import AuditEvent, Job
from backend.models.connections import Connection
from sfdx.localorg.pytest_plugin import localorg, make_org, sf_session  # noqa: F401
from tests.runs.factories import FORCE_APP
from tests.web.canvas_support import bearer, canvas_config, install, launch

CSV = b"First Name,Last Name\nAda,Lovelace\n"
MAPPING = {"object": "Contact", "operation": "insert", "fields": [{"field": "LastName", "column": "Last Name"}]}


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


@pytest.fixture
def headers(client, make_org):  # noqa: F811
    org = make_org(source_dir=FORCE_APP, namespace="inflow")
    install(org)
    return bearer(launch(client, org))


def _job(client, headers) -> str:
    upload = client.post("/api/sources/upload", headers=headers, data={"file": (io.BytesIO(CSV), "c.csv")},
                         content_type="multipart/form-data").get_json()
    html = client.get("/ui/wizard", headers=headers).get_data(as_text=True)
    org_id = html.split('<option value="', 1)[1].split('"', 1)[0]
    resp = client.post("/api/jobs", headers=headers, json={
        "name": "Nightly", "org_connection_id": org_id, "source": upload["source"], "object": "Contact",
        "operation": "insert", "api": "rest", "mapping": MAPPING})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]


def _from_a_connection(job_id: str) -> None:
    """The job reads from a database connection instead of an upload (what the connectors' wizard saves)."""
    job = db.session.get(Job, job_id)
    conn = Connection(account_id=job.account_id, type="postgresql", name="ERP")
    db.session.add(conn)
    db.session.flush()
    job.source = {"type": "csv", "config": {}, "connection_id": conn.id}
    db.session.commit()


def test_an_upload_job_explains_why_it_has_no_schedule(client, headers):
    job_id = _job(client, headers)
    state = client.get(f"/api/jobs/{job_id}/schedule", headers=headers).get_json()
    assert state["schedulable"] is False and "uploads are kept for one hour" in state["reason"]
    resp = client.put(f"/api/jobs/{job_id}/schedule", headers=headers, json={"rule": "daily 02:30", "tz": "UTC"})
    assert resp.status_code == 400 and "Import from a connection" in resp.get_json()["message"]


def test_a_connection_job_is_scheduled_paused_resumed_and_removed_with_audit(client, headers):
    job_id = _job(client, headers)
    _from_a_connection(job_id)
    resp = client.put(f"/api/jobs/{job_id}/schedule", headers=headers,
                      json={"rule": "weekly mon,thu@06:00", "tz": "Europe/Berlin"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    state = resp.get_json()
    assert state["rule"] == "weekly mon,thu@06:00" and state["tz"] == "Europe/Berlin" and len(state["next"]) == 5
    first = state["next"][0]
    assert first["local"][11:19] == "06:00:00" and first["local"][-6:] in ("+01:00", "+02:00")
    assert first["utc"].endswith("+00:00") and first["utc"][11:13] in ("04", "05")
    paused = client.post(f"/api/jobs/{job_id}/schedule/pause", headers=headers).get_json()
    assert paused["paused"] and paused["next"] == []
    assert client.post(f"/api/jobs/{job_id}/schedule/resume", headers=headers).get_json()["paused"] is False
    assert client.delete(f"/api/jobs/{job_id}/schedule", headers=headers).get_json()["rule"] is None
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.target == job_id)
                                 .order_by(AuditEvent.created_at)).all()
    assert [a for a in actions if a.startswith("schedule.")] == [
        "schedule.set", "schedule.pause", "schedule.resume", "schedule.remove"]


def test_the_preview_follows_the_rule_as_typed_and_says_what_to_fix(client, headers):
    ok = client.get("/api/schedules/preview?rule=daily%2002:30&tz=America/New_York&n=3", headers=headers)
    times = ok.get_json()["next"]
    assert ok.status_code == 200 and len(times) == 3
    for t in times:  # 02:30 New York time (03:00 on the one spring-forward day), the same instant in UTC
        assert t["local"][11:16] in ("02:30", "03:00") and t["local"][-6:] in ("-05:00", "-04:00")
        assert datetime.fromisoformat(t["local"]) == datetime.fromisoformat(t["utc"])
    bad = client.get("/api/schedules/preview?rule=every%202m&tz=UTC", headers=headers)
    assert bad.status_code == 400 and "shortest interval is 5m" in bad.get_json()["message"]
    zone = client.get("/api/schedules/preview?rule=daily%2002:30&tz=Nowhere/Land", headers=headers)
    assert zone.status_code == 400 and "IANA" in zone.get_json()["message"]


def test_notifications_are_validated_and_saved(client, headers):
    job_id = _job(client, headers)
    bad = client.put(f"/api/jobs/{job_id}/notifications", headers=headers,
                     json={"on": "always", "emails": ["not-an-address"]})
    assert bad.status_code == 400 and "Not an e-mail address: not-an-address" in bad.get_json()["message"]
    ok = client.put(f"/api/jobs/{job_id}/notifications", headers=headers,
                    json={"on": "always", "emails": ["ops@example.com"], "user_ids": ["005000000000001AAA"],
                          "digest": True})
    assert ok.get_json()["notify"] == {"on": "always", "emails": ["ops@example.com"],
                                       "user_ids": ["005000000000001AAA"], "digest": True}


def test_another_accounts_job_is_not_found(client, headers, make_org):  # noqa: F811
    job_id = _job(client, headers)
    other = make_org(source_dir=FORCE_APP, namespace="inflow")
    install(other)
    theirs = bearer(launch(client, other))
    assert client.get(f"/api/jobs/{job_id}/schedule", headers=theirs).status_code == 404
    assert client.post(f"/api/jobs/{job_id}/schedule/pause", headers=theirs).status_code == 404


def test_a_job_reading_from_a_connection_is_saved_through_the_api_and_can_be_scheduled(client, headers):
    job_id = _job(client, headers)
    account_id = db.session.get(Job, job_id).account_id
    conn = Connection(account_id=account_id, type="postgresql", name="ERP")
    db.session.add(conn)
    db.session.commit()
    body = client.get(f"/api/jobs/{job_id}", headers=headers).get_json()
    body.update(source={"connection_id": conn.id, "read": {"table": "sales.people"}}, mapping=MAPPING)
    saved = client.put(f"/api/jobs/{job_id}", headers=headers, json=body)
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert saved.get_json()["source"] == {"type": "connection", "connection_id": conn.id,
                                          "read": {"table": "sales.people"}}
    assert client.get(f"/api/jobs/{job_id}/schedule", headers=headers).get_json()["schedulable"] is True
    body["source"] = {"connection_id": conn.id, "read": {}}
    vague = client.put(f"/api/jobs/{job_id}", headers=headers, json=body)
    assert vague.status_code == 400 and "a table, a query or a path" in vague.get_json()["message"]
    body["source"] = {"connection_id": "f" * 32, "read": {"table": "t"}}
    assert client.put(f"/api/jobs/{job_id}", headers=headers, json=body).status_code == 404
