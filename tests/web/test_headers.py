"""Security headers (checklist 4): only canvas pages may be framed, and only by Salesforce; everything else
refuses framing; every response is nosniff, HSTS and (API and pages) no-store."""

from __future__ import annotations

import dataclasses

import pytest

from backend.settings import SALESFORCE_FRAME_ANCESTORS, Settings, SettingsError
from tests.web.canvas_support import LOCAL_ANCESTORS, bearer, canvas_config, install, launch, signed


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


def _csp(resp) -> dict[str, list[str]]:
    policy = {}
    for directive in resp.headers["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        policy[name] = values
    return policy


def _common(resp) -> None:
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in resp.headers["Strict-Transport-Security"]
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    policy = _csp(resp)
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert "*" not in policy["frame-ancestors"] and "'unsafe-inline'" not in policy["script-src"]


def _not_frameable(resp) -> None:
    _common(resp)
    assert _csp(resp)["frame-ancestors"] == ["'none'"]
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_canvas_page_may_be_framed_by_salesforce_only(client, org):  # noqa: F811
    install(org)
    resp = client.post("/canvas", data={"signed_request": signed(org)})
    _common(resp)
    assert _csp(resp)["frame-ancestors"] == list(SALESFORCE_FRAME_ANCESTORS + LOCAL_ANCESTORS)
    assert "X-Frame-Options" not in resp.headers  # any value would break the Salesforce frame
    assert resp.headers["Cache-Control"] == "no-store"  # the page holds a token
    assert org.instance_url in _csp(resp)["script-src"]  # the Canvas SDK comes from the org itself


def test_canvas_error_pages_are_framed_too_so_users_see_why(client):
    resp = client.post("/canvas", data={"signed_request": "forged.request"})
    assert resp.status_code == 401
    assert _csp(resp)["frame-ancestors"] == list(SALESFORCE_FRAME_ANCESTORS + LOCAL_ANCESTORS)


def test_api_responses_refuse_framing_and_caching(client, org):  # noqa: F811
    install(org)
    token = launch(client, org)
    for resp in (client.get("/api/instances", headers=bearer(token)), client.get("/api/instances"),
                 client.get("/healthz"), client.post("/canvas/token", data={"signed_request": "x.y"})):
        _not_frameable(resp)
        assert resp.headers["Cache-Control"] == "no-store"


def test_every_parameterless_get_page_is_either_canvas_framed_or_unframeable(app, client):
    """A sweep over the app's routes, so pages added later are held to the same rule."""
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.rule.startswith("/static"):
            continue
        resp = client.get(rule.rule)
        _common(resp)
        ancestors = _csp(resp)["frame-ancestors"]
        if ancestors == ["'none'"]:
            assert resp.headers["X-Frame-Options"] == "DENY", rule.rule
        else:
            assert ancestors == list(SALESFORCE_FRAME_ANCESTORS + LOCAL_ANCESTORS), rule.rule
            assert resp.mimetype == "text/html" and "X-Frame-Options" not in resp.headers, rule.rule
        checked += 1
    assert checked >= 5


def test_static_files_may_be_cached_but_not_framed(client):
    resp = client.get("/static/js/canvas-session.js")
    assert resp.status_code == 200 and resp.headers.get("Cache-Control") != "no-store"
    _not_frameable(resp)
    resp.close()


@pytest.mark.parametrize("ancestors", [("*",), ("https://*",), ("http://evil.example",), ("'self'",)])
def test_settings_refuse_wildcard_or_insecure_frame_ancestors(ancestors):
    with pytest.raises(SettingsError, match="FRAME_ANCESTORS"):
        dataclasses.replace(Settings(), canvas_frame_ancestors=ancestors).check()
