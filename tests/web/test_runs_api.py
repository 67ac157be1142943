"""The runs API over HTTP with the canvas app token: start, progress, result files (audited), error groups,
rollback, record link, cancel, history; the worker's steps run in-process on the same database and Redis."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import AuditEvent
from backend.runs import execute
from backend.runs import rollback as run_rollback
from sfdx.localorg.pytest_plugin import localorg, make_org, sf_session  # noqa: F401
from tests.runs.factories import FORCE_APP
from tests.web.canvas_support import bearer, canvas_config, install, launch

CSV = (b"First Name,Last Name,Email,Account Name\n"
       b"Ada,Lovelace,ada@example.com,Analytical Engines\n"
       b"Grace,Hopper,grace@example.com,Nowhere Inc\n"
       b"Alan,Turing,alan@example.com,Analytical Engines\n")
MAPPING = {"object": "Contact", "operation": "insert",
           "fields": [{"field": "FirstName", "column": "First Name"}, {"field": "LastName", "column": "Last Name"},
                      {"field": "Email", "column": "Email"}, {"field": "AccountId", "column": "Account Name"}],
           "lookups": [{"field": "AccountId", "parent_object": "Account", "match_field": "Name"}]}


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


@pytest.fixture
def pkg_org(make_org, sf_session):  # noqa: F811
    org = make_org(source_dir=FORCE_APP, namespace="inflow")
    install(org)
    return org


@pytest.fixture
def session(client, pkg_org, sf_session):  # noqa: F811
    from simple_salesforce import Salesforce

    Salesforce(instance_url=pkg_org.instance_url, session_id=pkg_org.ready_token,
               session=sf_session).Account.create({"Name": "Analytical Engines"})
    return bearer(launch(client, pkg_org))


def _job(client, headers) -> str:
    upload = client.post("/api/sources/upload", headers=headers, data={"file": (io.BytesIO(CSV), "c.csv")},
                         content_type="multipart/form-data").get_json()
    html = client.get("/ui/wizard", headers=headers).get_data(as_text=True)
    org_id = html.split('<option value="', 1)[1].split('"', 1)[0]
    job = client.post("/api/jobs", headers=headers, json={
        "name": "Contacts", "org_connection_id": org_id, "source": upload["source"], "object": "Contact",
        "operation": "insert", "api": "rest", "mapping": MAPPING})
    assert job.status_code == 201, job.get_data(as_text=True)
    return job.get_json()["id"]


def test_a_run_from_start_to_rollback(client, session):
    job_id = _job(client, session)
    started = client.post(f"/api/jobs/{job_id}/runs", headers=session)
    assert started.status_code == 201
    run = started.get_json()
    assert run["state"] == "queued" and run["can_cancel"] and run["job_name"] == "Contacts"

    assert execute.run_import(run["id"]) == "partial"
    done = client.get(f"/api/runs/{run['id']}", headers=session).get_json()
    assert (done["state_label"], done["succeeded"], done["failed"]) == ("Finished with errors", 2, 1)
    assert done["can_rollback"] and not done["can_cancel"]

    errors = client.get(f"/api/runs/{run['id']}/files/error", headers=session)
    assert errors.headers["Content-Disposition"].startswith("attachment;")
    assert "Nowhere Inc" in errors.get_data().decode("utf-8-sig")
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "run.download")).all()
    assert [(a.target, a.details["kind"]) for a in audit] == [(run["id"], "error")]
    groups = client.get(f"/api/runs/{run['id']}/errors", headers=session).get_json()["groups"]
    assert groups == [{"message": "AccountId: no Account has Name 'Nowhere Inc'", "count": 1, "rows": ["3"]}]
    link = client.get(f"/api/runs/{run['id']}/record", headers=session).get_json()["url"]
    assert "/lightning/r/inflow__Import_Run__c/" in link

    assert client.post(f"/api/runs/{run['id']}/rollback", headers=session).status_code == 202
    assert run_rollback.rollback_run(run["id"]) == "rolled_back"
    assert client.post(f"/api/runs/{run['id']}/rollback", headers=session).status_code == 409
    history = client.get("/api/runs?state=rolled_back", headers=session).get_json()
    assert [h["id"] for h in history] == [run["id"]]
    assert client.get("/api/runs?state=partial", headers=session).get_json() == []


def test_a_queued_run_is_cancelled_and_strangers_get_404(client, session, make_org):  # noqa: F811
    job_id = _job(client, session)
    run = client.post(f"/api/jobs/{job_id}/runs", headers=session).get_json()
    other = make_org()
    install(other)
    stranger = bearer(launch(client, other))
    for path in (f"/api/runs/{run['id']}", f"/api/runs/{run['id']}/files/error", f"/ui/runs/{run['id']}"):
        assert client.get(path, headers=stranger).status_code == 404
    assert client.post(f"/api/runs/{run['id']}/cancel", headers=stranger).status_code == 404
    assert client.post(f"/api/jobs/{job_id}/runs", headers=stranger).status_code == 404
    cancelled = client.post(f"/api/runs/{run['id']}/cancel", headers=session).get_json()
    assert cancelled["state"] == "cancelled" and not cancelled["can_cancel"]
    assert client.get(f"/api/runs/{run['id']}/files/success", headers=session).status_code == 404


def test_a_second_click_on_run_returns_the_same_run_and_idempotency_keys_are_honoured(client, session):
    job_id = _job(client, session)
    first = client.post(f"/api/jobs/{job_id}/runs", headers=session)
    again = client.post(f"/api/jobs/{job_id}/runs", headers=session)  # a double click while it is queued
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    execute.run_import(first.get_json()["id"])
    keyed = {**session, "Idempotency-Key": "nightly-2026-12-05"}
    run = client.post(f"/api/jobs/{job_id}/runs", headers=keyed)
    execute.run_import(run.get_json()["id"])
    retried = client.post(f"/api/jobs/{job_id}/runs", headers=keyed)  # the client retried after a timeout
    assert (run.status_code, retried.status_code) == (201, 200)
    assert retried.get_json()["id"] == run.get_json()["id"] != first.get_json()["id"]
    bad = client.post(f"/api/jobs/{job_id}/runs", headers={**session, "Idempotency-Key": "x" * 65})
    assert bad.status_code == 400 and "Idempotency-Key" in bad.get_json()["message"]
