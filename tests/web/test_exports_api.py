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


def test_the_target_choice_writes_a_table_through_a_connection_and_the_run_says_where(client, session):
    import psycopg
    from sqlalchemy import select

    from backend.connectors import stored
    from backend.extensions import db
    from backend.models import Account
    from backend.models.base import TenantScope
    from tests.connectors import servers

    page = client.get("/ui/export", headers=session).get_data(as_text=True)
    assert "A database table through a connection" in page and "A file on a file store through a connection" in page
    org_id = _org_id(client, session)
    mine = db.session.scalars(select(Account)).one()
    other = Account(company="Other", region="eu-frankfurt")
    db.session.add(other)
    db.session.commit()
    with servers.postgres_warehouse() as params:
        row = stored.create(TenantScope(mine.id), "warehouse", "postgresql", params)
        foreign = stored.create(TenantScope(other.id), "theirs", "postgresql", params)
        db.session.commit()
        body = {"name": "Contacts to the warehouse", "org_connection_id": org_id,
                "soql": "SELECT Id, LastName, Title FROM Contact"}
        refused = client.post("/api/exports", headers=session, json={
            **body, "target": {"kind": "table", "connection_id": foreign.id, "table": "contacts"}})
        assert refused.status_code == 404
        wrong = client.post("/api/exports", headers=session, json={
            **body, "target": {"kind": "file", "connection_id": row.id, "path": "out/contacts.csv"}})
        assert wrong.status_code == 400 and "holds tables: choose a table" in wrong.get_json()["message"]
        site = stored.create(TenantScope(mine.id), "site", "https", {"url": "https://example.com/in.csv"})
        db.session.commit()
        readonly = client.post("/api/exports", headers=session, json={
            **body, "target": {"kind": "file", "connection_id": site.id, "path": "out/contacts.csv"}})
        assert readonly.status_code == 400 and "cannot take files" in readonly.get_json()["message"]
        resp = client.post("/api/exports", headers=session, json={
            **body, "target": {"kind": "table", "connection_id": row.id, "table": "public.contacts"}})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        assert resp.get_json()["written_to"] == "table public.contacts on warehouse"
        run_id = client.post(f"/api/jobs/{resp.get_json()['id']}/runs", headers=session, json={}).get_json()["id"]
        assert export_run.run_export_task(run_id) == "succeeded"
        run = client.get(f"/api/runs/{run_id}", headers=session).get_json()
        assert (run["state"], run["succeeded"], run["written_to"]) == ("succeeded", 25,
                                                                       "table public.contacts on warehouse")
        assert "Written to:</strong> table public.contacts on warehouse" in client.get(
            f"/ui/runs/{run_id}", headers=session).get_data(as_text=True)
        with psycopg.connect(host=params["host"], port=params["port"], dbname=params["database"],
                             user=params["user"]) as pg:
            assert pg.execute('SELECT count(*), min("Title") FROM contacts').fetchone() == (25, "=cmd")
        removed = client.delete(f"/api/connections/{row.id}", headers=session)  # the export writes to it
        assert removed.status_code == 409 and "Contacts to the warehouse" in removed.get_json()["message"]
