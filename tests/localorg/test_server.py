"""The server over real HTTPS: state file, versions, per-org instance URLs, CA verification."""

from __future__ import annotations

import json

import certifi
import pytest
import requests

from sfdx.localorg import LocalOrgServer


def test_state_file_lists_everything_a_client_needs(localorg, make_org, sf_session):
    org = make_org("statefile")
    app = org.register_app("Inflow", ["https://127.0.0.1:5000/oauth/callback"])
    localorg.write_state()
    state = json.loads(localorg.state_file.read_text())
    info = state["orgs"]["statefile"]
    assert info["org_id"] == org.id and info["org_id"].startswith("00D") and len(info["org_id"]) == 18
    assert info["instance_url"] == org.instance_url
    assert info["username"] == "admin@statefile.localorg" and info["password"]
    assert info["client_apps"][0]["consumer_key"] == app.consumer_key
    assert info["client_apps"][0]["callback_urls"] == ["https://127.0.0.1:5000/oauth/callback"]
    r = sf_session.get(org.instance_url + "/services/data/v66.0/limits",
                       headers={"Authorization": f"Bearer {info['access_token']}"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"


def test_versions_list_31_to_66_without_auth(localorg, sf_session):
    versions = sf_session.get(localorg.base_url + "/services/data/").json()
    assert versions[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
    assert versions[-1]["version"] == "66.0" and len(versions) == 36


def test_certificate_is_verified_against_generated_ca(localorg):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(localorg.base_url + "/services/data/", verify=certifi.where(), timeout=5)
    ok = requests.get(localorg.base_url + "/services/data/", verify=str(localorg.ca_path), timeout=5)
    assert ok.status_code == 200


def test_each_org_has_its_own_instance_and_tokens_do_not_cross(make_org, sf_session):
    a, b = make_org(), make_org()
    assert a.instance_url != b.instance_url
    r = sf_session.get(b.instance_url + "/services/data/v59.0/sobjects",
                       headers={"Authorization": f"Bearer {a.ready_token}"})
    assert r.status_code == 401
    assert r.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_python_api_start_create_org_stop(tmp_path):
    with LocalOrgServer(state_file=tmp_path / "state.json") as srv:
        org = srv.create_org("solo")
        s = requests.Session()
        s.verify, s.trust_env = str(srv.ca_path), False
        r = s.get(org.instance_url + "/services/data/v66.0/", headers={"Authorization": f"Bearer {org.ready_token}"})
        assert r.json()["identity"] == f"{org.instance_url}/id/{org.id}/{org.admin_id}"
        assert (tmp_path / "certs" / "ca.pem").exists()


def test_a_silent_client_does_not_block_others(org, sf_session):
    import socket

    port = int(org.instance_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)):
        r = sf_session.get(org.instance_url + "/services/data/v66.0/limits",
                           headers={"Authorization": f"Bearer {org.ready_token}"}, timeout=10)
        assert r.status_code == 200
