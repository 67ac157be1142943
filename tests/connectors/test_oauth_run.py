"""An import run of a saved job reading a Dropbox file and a Google sheet through saved connections (only a
refresh token stored, as `connections add` leaves it): the worker's run refreshes the access token, stores it
back encrypted, reads the stand-in and writes every row into localorg."""

from __future__ import annotations

import pytest

from backend.connectors import stored
from backend.extensions import db
from backend.models import Job, Run
from backend.models.base import TenantScope
from backend.models.connections import Connection
from backend.runs import execute, service
from sfdx.localorg.pytest_plugin import make_org  # noqa: F401
from tests.connectors import oauth_standins, servers
from tests.runs.factories import CLIENT_ID, CLIENT_SECRET, FORCE_APP, account, connect


@pytest.fixture
def app_config(app_config, standins, localorg, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(localorg.ca_bundle))
    return {**app_config, **standins.settings(), "egress_allow_loopback": True, "salesforce_client_id": CLIENT_ID,
            "salesforce_client_secret": CLIENT_SECRET}


@pytest.mark.parametrize(("url", "read"), [
    ("dropbox:///exports?refresh_token={token}", {"path": "people*.csv"}),
    (f"gsheets://{oauth_standins.SPREADSHEET}?refresh_token={{token}}", {"path": "people"}),
])
def test_a_job_reading_a_connection_imports_every_row(app, make_org, standins, url, read):  # noqa: F811
    org = make_org(source_dir=FORCE_APP)
    acct = account()
    scope = TenantScope(acct.id)
    provider = "dropbox" if url.startswith("dropbox") else "google"
    refresh = standins.grant(provider)
    conn = stored.create_from_url(scope, "partner", url.format(token=refresh))
    db.session.commit()
    assert "access_token" not in stored.parameters(conn)
    job = scope.add(Job(name="Partner people", org_connection_id=connect(acct, org).id, object_name="Contact",
                        operation="insert", source={"type": "connection", "connection_id": conn.id, "read": read},
                        mapping={"object": "Contact", "operation": "insert", "api": "rest",
                                 "fields": [{"field": "LastName", "column": "name"},
                                            {"field": "Birthdate", "column": "born"}]}))
    db.session.commit()
    run = service.create_run(scope, job.id).run
    assert execute.run_import(run.id) == "succeeded"
    assert db.session.get(Run, run.id).rows_succeeded == 3
    got = {r["LastName"]: r.get("Birthdate") for r in org.store.table("Contact").rows.values()}
    assert got == {row[1]: row[4] for row in servers.ROWS}
    db.session.expire_all()
    params = stored.parameters(db.session.get(Connection, conn.id))
    assert params["refresh_token"] == refresh and params["access_token"] in standins.access
