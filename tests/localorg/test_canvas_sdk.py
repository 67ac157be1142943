"""localorg serves its Canvas SDK script where an org serves Salesforce's: /canvas/sdk/js/<version>/canvas-all.js
on every instance URL and on the login URL, as JavaScript with a cache header."""

from __future__ import annotations

import requests


def test_sdk_script_served_on_instance_and_login_urls(localorg, org, sf_session: requests.Session):
    for base in (org.instance_url, localorg.base_url):
        resp = sf_session.get(f"{base}/canvas/sdk/js/66.0/canvas-all.js")
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("application/javascript")
        assert "max-age=" in resp.headers["Cache-Control"]
        assert "refreshSignedRequest" in resp.text and "Sfdc" in resp.text
        again = sf_session.get(f"{base}/canvas/sdk/js/66.0/canvas-all.js",
                               headers={"If-None-Match": resp.headers["ETag"]})
        assert again.status_code == 304


def test_sdk_script_under_any_api_version_but_not_other_paths(org, sf_session: requests.Session):
    assert sf_session.get(f"{org.instance_url}/canvas/sdk/js/45.0/canvas-all.js").status_code == 200
    assert sf_session.get(f"{org.instance_url}/canvas/sdk/js/latest/canvas-all.js").status_code == 404
