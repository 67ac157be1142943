"""The importer's pages: SLDS assets, the shell in the canvas page, and screens fetched with the app token."""

from __future__ import annotations

import json
import re

import pytest

from backend.extensions import db
from backend.models import Job, OrgConnection, Run, TenantScope
from backend.security.canvas import make_signed_request
from sfdx.localorg.pytest_plugin import localorg, make_org, org  # noqa: F401
from tests.web.canvas_support import SECRET, bearer, canvas_config, envelope, install, launch


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


@pytest.fixture
def sf_org(org):  # noqa: F811
    install(org)
    return org


def _shell_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="inflow-launch">(.*?)</script>', html, re.S)
    assert match, "the shell carries its launch data"
    return json.loads(match.group(1))


def test_slds_is_served_from_node_modules_and_cached(client):
    with client.get("/static/slds/styles/salesforce-lightning-design-system.min.css") as resp:
        assert resp.status_code == 200 and resp.mimetype == "text/css"
        assert "max-age=604800" in resp.headers["Cache-Control"] and b".slds-button" in resp.get_data()
    with client.get("/static/slds/../../package.json") as resp:
        assert resp.status_code == 404


def test_the_canvas_page_is_the_importer_shell_with_nothing_inline_to_run(client, sf_org):
    page = client.post("/canvas", data={"signed_request": make_signed_request(envelope(sf_org), SECRET)})
    html = page.get_data(as_text=True)
    assert 'src="/static/js/app.js"' in html and 'data-nav="#/new"' in html
    assert "salesforce-lightning-design-system" in html and sf_org.name in html
    # CSP allows no inline script: every <script> either loads a file or is JSON data.
    assert all("src=" in tag or 'type="application/json"' in tag for tag in re.findall(r"<script[^>]*>", html))
    assert _shell_data(html)["record_id"] is None


def test_a_record_page_launch_carries_the_record_id(client, sf_org):
    env = envelope(sf_org)
    env["context"]["environment"]["parameters"] = {"recordId": "a0101D000000001ABA", "sObjectName": "X__c"}
    html = client.post("/canvas", data={"signed_request": make_signed_request(env, SECRET)}).get_data(as_text=True)
    assert _shell_data(html)["record_id"] == "a0101D000000001ABA"


def test_screens_need_the_token_and_show_the_account_s_jobs_and_runs(client, sf_org):
    assert client.get("/ui/home").status_code in (302, 401)
    headers = bearer(launch(client, sf_org))
    conn = db.session.scalars(db.select(OrgConnection).where(OrgConnection.org_id == sf_org.id)).one()
    scope = TenantScope(conn.account_id)
    job = scope.add(Job(name="Weekly contacts", object_name="Contact", operation="upsert", org_connection_id=conn.id,
                        source={"type": "csv", "name": "weekly.csv"}, mapping={}))
    db.session.flush()
    scope.add(Run(job_id=job.id, state="partial", rows_read=10, rows_succeeded=9, rows_failed=1))
    db.session.commit()
    home = client.get("/ui/home", headers=headers).get_data(as_text=True)
    assert "Weekly contacts" in home and "weekly.csv" in home and "Finished with errors" in home
    history = client.get("/ui/history?state=failed", headers=headers).get_data(as_text=True)
    assert "No runs yet." in history
    history = client.get("/ui/history?state=partial&object=contact", headers=headers).get_data(as_text=True)
    assert "Weekly contacts" in history
    wizard = client.get(f"/ui/wizard?job={job.id}", headers=headers).get_data(as_text=True)
    assert "Edit Weekly contacts" in wizard
    settings = client.get("/ui/settings", headers=headers).get_data(as_text=True)
    assert "Frankfurt" in settings and "Org Admin" in settings  # region read-only; the admin sees the users
