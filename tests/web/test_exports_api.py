"""The export wizard's JSON API against localorg: preview (first 20 rows), save, run through the worker, download."""

from __future__ import annotations

import pytest

from backend.runs import export_run
from sfdx.localorg.pytest_plugin import localorg, make_org, org, sf, sf_session  # noqa: F401
from tests.web.canvas_support import bearer, canvas_config, install, launch


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


@pytest.fixture
def session(client, org, sf):  # noqa: F811
    install(org)
    acct = sf.Account.create({"Name": "Globex"})["id"]
    for i in range(25):
        sf.Contact.create({"LastName": f"Lee{i:02d}", "AccountId": acct if i % 2 else None,
                           "Title": "=cmd" if i == 0 else "Rep"})
    return bearer(launch(client, org))


def _org_id(client, headers):
    html = client.get("/ui/export", headers=headers).get_data(as_text=True)
    assert "New export" in html and "Preview and run" in html
    return html.split('<option value="', 1)[1].split('"', 1)[0]


def test_preview_shows_the_first_20_rows_as_the_file_will(client, session):
    org_id = _org_id(client, session)
    resp = client.post("/api/exports/preview", headers=session, json={
        "org_connection_id": org_id, "object": "Contact", "fields": ["LastName", "Title", "Account.Name"],
        "where": "LastName LIKE 'Lee%'"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["soql"] == "SELECT LastName, Title, Account.Name FROM Contact WHERE LastName LIKE 'Lee%'"
    assert body["columns"] == ["LastName", "Title", "Account.Name"] and len(body["rows"]) == 20
    assert ["Lee00", "'=cmd", ""] in body["rows"] and ["Lee01", "Rep", "Globex"] in body["rows"]


def test_a_bad_query_answers_400_with_the_position(client, session):
    resp = client.post("/api/exports/preview", headers=session, json={
        "org_connection_id": _org_id(client, session), "soql": "SELECT Id, Titel FROM Contact"})
    assert resp.status_code == 400
    assert "ERROR at Row:1:Column:12\nNo such column 'Titel' on entity 'Contact'" in resp.get_json()["message"]


def test_save_run_and_download_an_excel_export_with_history(client, session):
    org_id = _org_id(client, session)
    resp = client.post("/api/exports", headers=session, json={
        "name": "All contacts", "org_connection_id": org_id, "soql": "SELECT LastName FROM Contact",
        "format": "xlsx", "time_zone": "Europe/Berlin"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    job = resp.get_json()
    started = client.post(f"/api/jobs/{job['id']}/runs", headers=session, json={})
    assert started.status_code == 201
    run_id = started.get_json()["id"]
    assert export_run.run_export_task(run_id) == "succeeded"  # what the worker's task does
    run = client.get(f"/api/runs/{run_id}", headers=session).get_json()
    assert (run["state"], run["rows_read"], run["can_rollback"], run["kind"]) == ("succeeded", 25, False, "export")
    file = client.get(f"/api/runs/{run_id}/files/success", headers=session)
    assert file.status_code == 200 and file.data.startswith(b"PK\x03\x04")
    assert file.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert file.headers["Content-Disposition"].endswith('.xlsx"')
    assert client.post(f"/api/runs/{run_id}/rollback", headers=session).status_code == 409
    history = client.get("/api/runs", headers=session).get_json()
    assert [r["job_name"] for r in history] == ["All contacts"]
    bad = client.post("/api/exports", headers=session, json={
        "name": "x", "org_connection_id": org_id, "soql": "SELECT Id FROM Contact", "time_zone": "Nowhere/City"})
    assert bad.status_code == 400 and "Unknown time zone" in bad.get_json()["message"]
