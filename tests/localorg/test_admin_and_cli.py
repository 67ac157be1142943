"""Knobs through the admin endpoint, the demo seed, and `python -m sfdx.localorg` as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests
from simple_salesforce import Salesforce

from sfdx.localorg.seed import seed_demo


def test_admin_knobs_are_stored_and_reported(localorg, org, sf_session):
    admin = {"X-Localorg-Admin": localorg.admin_secret}
    r = sf_session.patch(localorg.base_url + "/_localorg/knobs", headers=admin, json={
        "org": org.name, "lock_rate": 0.25, "lock_seed": 7, "fail_bulk_jobs": True, "latency_ms": 5,
        "token_lifetime": 60})
    assert r.status_code == 200
    knobs = r.json()[org.name]
    assert (knobs["lock_rate"], knobs["lock_seed"], knobs["fail_bulk_jobs"], knobs["latency_ms"]) == (0.25, 7, True, 5)
    assert org.knobs.token_lifetime == 60
    state = sf_session.get(localorg.base_url + "/_localorg/state", headers=admin).json()
    assert state["ca_cert"] == str(localorg.ca_path)
    bad = sf_session.patch(localorg.base_url + "/_localorg/knobs", headers=admin, json={"warp": 9})
    assert bad.status_code == 400
    sf_session.patch(localorg.base_url + "/_localorg/knobs", headers=admin, json={
        "org": org.name, "fail_bulk_jobs": False, "latency_ms": 0, "lock_rate": 0})


def test_admin_creates_orgs_and_apps(localorg, sf_session):
    admin = {"X-Localorg-Admin": localorg.admin_secret}
    info = sf_session.post(localorg.base_url + "/_localorg/orgs", headers=admin, json={"name": "viaadmin"}).json()
    app = sf_session.post(localorg.base_url + "/_localorg/orgs/viaadmin/apps", headers=admin,
                          json={"name": "Canvas", "callback_urls": ["https://127.0.0.1:5000/cb"],
                                "canvas_url": "https://127.0.0.1:5000/canvas"}).json()
    state = json.loads(localorg.state_file.read_text())
    assert state["orgs"]["viaadmin"]["client_apps"][0]["consumer_key"] == app["consumer_key"]
    r = sf_session.get(info["instance_url"] + "/services/data/v66.0/limits",
                       headers={"Authorization": f"Bearer {info['access_token']}"})
    assert r.status_code == 200
    fresh = sf_session.post(localorg.base_url + "/_localorg/orgs/viaadmin/token", headers=admin).json()
    assert fresh["access_token"] != info["access_token"]
    assert json.loads(localorg.state_file.read_text())["orgs"]["viaadmin"]["access_token"] == fresh["access_token"]
    localorg.drop_org(localorg.orgs["viaadmin"])


def test_demo_seed(make_org, sf_session):
    org = make_org()
    counts = seed_demo(org, accounts=300)
    assert counts == {"Account": 300, "Contact": 450, "Opportunity": 150}
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    partners = sf.query("SELECT COUNT() FROM Account WHERE RecordType.DeveloperName = 'Partner'")["totalSize"]
    assert 0 < partners < 300
    users = sf.query("SELECT Username FROM User ORDER BY Username")["records"]
    assert len(users) == 3


def test_command_line_server_with_demo_seed(tmp_path: Path):
    state_file = tmp_path / "state" / "localorg.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "sfdx.localorg", "--seed", "demo", "--state-file", str(state_file),
                             "--api-allowance", "500", "--canvas-url", "https://127.0.0.1:5999/canvas",
                             "--consumer-key", "3MVG9DemoKey", "--consumer-secret", "D" * 64],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline() + proc.stdout.readline()
        assert "localorg on https://127.0.0.1:" in line, line
        state = json.loads(state_file.read_text())
        demo = state["orgs"]["demo"]
        app = demo["client_apps"][0]
        assert app["canvas_url"] == "https://127.0.0.1:5999/canvas" and app["consumer_key"] == "3MVG9DemoKey"
        assert "https://127.0.0.1:5999/instances/oauth/callback" in app["callback_urls"]
        s = requests.Session()
        s.verify, s.trust_env = state["ca_cert"], False
        sf = Salesforce(instance_url=demo["instance_url"], session_id=demo["access_token"], session=s)
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 2000
        assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 3000
        assert sf.api_usage["api-usage"].total == 500
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
    assert proc.returncode == 0
