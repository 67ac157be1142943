"""A saved export job writing a CSV file into Dropbox (the HTTPS stand-in) through the account's connection, run
by the worker: the export wizard offers the connection for file targets, the file lands whole at its path."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.connectors import stored
from backend.extensions import db
from backend.models import Account
from backend.models.base import TenantScope
from backend.runs import export_run
from backend.runs.parts import BOM
from sfdx.localorg.pytest_plugin import localorg, make_org, org, sf, sf_session  # noqa: F401
from tests.connectors import oauth_standins
from tests.web.canvas_support import bearer, canvas_config, install, launch


@pytest.fixture(scope="module")
def standins(localorg) -> Iterator[oauth_standins.Standins]:  # noqa: F811
    folder = Path(localorg.ca_path).parent
    with oauth_standins.standins(folder / "server.pem", folder / "server.key") as state:
        yield state


@pytest.fixture
def app_config(app_config, localorg, monkeypatch, standins):  # noqa: F811
    return {**canvas_config(app_config, localorg, monkeypatch), **standins.settings()}


def test_an_export_job_writes_a_csv_file_into_dropbox(client, org, sf, standins):  # noqa: F811
    install(org)
    for name in ("Lee", "Kim"):
        sf.Contact.create({"LastName": name, "Title": "=cmd" if name == "Lee" else "Rep"})
    session = bearer(launch(client, org))
    mine = db.session.scalars(select(Account)).one()
    row = stored.create(TenantScope(mine.id), "drop", "dropbox",
                        {"path": "", "refresh_token": standins.grant("dropbox")})
    db.session.commit()
    types = {t["type"]: t["kind"] for t in client.get("/api/connections/types", headers=session).get_json()}
    assert types["dropbox"] == "files"  # the wizard lists connections of kind "files" for a file target

    html = client.get("/ui/export", headers=session).get_data(as_text=True)
    org_id = html.split('<option value="', 1)[1].split('"', 1)[0]
    resp = client.post("/api/exports", headers=session, json={
        "name": "Contacts to Dropbox", "org_connection_id": org_id,
        "soql": "SELECT LastName, Title FROM Contact ORDER BY LastName",
        "target": {"kind": "file", "connection_id": row.id, "path": "/out/contacts.csv"}})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["written_to"] == "file /out/contacts.csv on drop"
    run_id = client.post(f"/api/jobs/{resp.get_json()['id']}/runs", headers=session, json={}).get_json()["id"]
    assert export_run.run_export_task(run_id) == "succeeded"
    run = client.get(f"/api/runs/{run_id}", headers=session).get_json()
    assert (run["state"], run["succeeded"], run["written_to"]) == ("succeeded", 2, "file /out/contacts.csv on drop")
    data, _ = standins.files["/out/contacts.csv"]
    assert data.startswith(BOM)
    assert list(csv.reader(io.StringIO(data[len(BOM):].decode()))) == [["LastName", "Title"], ["Kim", "Rep"],
                                                                        ["Lee", "'=cmd"]]
