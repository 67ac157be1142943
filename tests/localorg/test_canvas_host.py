"""Canvas host pages over HTTPS: login, the signed request in the page (HMAC and envelope), record pages,
refresh, self-authorize approval and the state file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
from urllib.parse import quote

import pytest

from sfdx.localorg.canvas import approve, register_canvas_app
from sfdx.localorg.canvas_request import opaque_issued_at

CANVAS_URL = "https://127.0.0.1:5000/canvas"


def verify(signed: str, secret: str) -> dict:
    """What Inflow's backend does: HMAC-SHA256 over the encoded envelope, constant-time compare."""
    enc_sig, enc_env = signed.split(".", 1)
    expected = hmac.new(secret.encode(), enc_env.encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(base64.b64decode(enc_sig), expected)
    return json.loads(base64.b64decode(enc_env))


def signed_from(page: str) -> str:
    return html.unescape(re.search(r'name="signed_request" value="([^"]*)"', page).group(1))


def page_config(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="canvas-config">(.*?)</script>', page).group(1))


@pytest.fixture
def app(org):
    return register_canvas_app(org, "Inflow", CANVAS_URL, tab="Inflow", namespace="inflow")


def login(sf_session, org, ret: str = "/lightning/n/Inflow"):
    return sf_session.get(org.instance_url + "/secur/frontdoor.jsp", params={"sid": org.ready_token, "retURL": ret})


def test_pages_need_a_login(org, app, sf_session):
    r = sf_session.get(org.instance_url + "/lightning/n/Inflow", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/login?startURL=%2Flightning%2Fn%2FInflow"
    bad = sf_session.get(org.instance_url + "/secur/frontdoor.jsp", params={"sid": "00Dnope!x"})
    assert bad.status_code == 401 and 'name="pw"' in bad.text


def test_tab_page_posts_a_verifiable_signed_request(org, app, sf_session):
    page = login(sf_session, org)
    assert page.status_code == 200 and page.url == org.instance_url + "/lightning/n/Inflow"
    env = verify(signed_from(page.text), app.consumer_secret)
    assert list(env) == ["algorithm", "issuedAt", "userId", "client", "context"]
    assert env["algorithm"] == "HMACSHA256" and env["userId"] == org.admin_id
    client = env["client"]
    # Like real orgs: a signed 32-bit number that is no timestamp (captures in sfdx/localorg/README.md).
    assert env["issuedAt"] == opaque_issued_at(client["oauthToken"]) and -2**31 <= env["issuedAt"] < 2**31
    assert client["instanceUrl"] == client["targetOrigin"] == org.instance_url and client["refreshToken"]
    iid = client["instanceId"]
    assert f'<iframe name="canvas-frame-{iid}"' in page.text
    action = html.escape(CANVAS_URL + "#" + quote(org.instance_url, safe=""))
    assert f'<form id="canvas-post" method="POST" action="{action}" target="canvas-frame-{iid}">' in page.text
    ctx = env["context"]
    assert set(ctx) == {"user", "links", "application", "organization", "environment"}
    assert ctx["user"]["userName"] == org.admin_username and ctx["user"]["currencyISOCode"] == "USD"
    assert ctx["organization"]["organizationId"] == org.id and "currencyIsoCode" in ctx["organization"]
    assert ctx["application"]["developerName"] == "Inflow" and ctx["application"]["namespace"] == "inflow"
    assert ctx["application"]["canvasUrl"] == CANVAS_URL and ctx["application"]["authType"] == "SIGNED_REQUEST"
    envr = ctx["environment"]
    assert envr["displayLocation"] == "Aura" and envr["parameters"] == {} and envr["record"] == {}
    assert envr["locationUrl"] == org.instance_url + "/lightning/n/Inflow"
    assert envr["version"] == {"season": "SPRING", "api": "66.0"} and "height" in envr["dimensions"]
    assert ctx["links"]["queryUrl"] == "/services/data/v66.0/query/"
    r = sf_session.get(org.instance_url + ctx["links"]["sobjectUrl"] + "Account",
                       headers={"Authorization": f"Bearer {client['oauthToken']}"})
    assert r.status_code == 200


def test_record_page_shows_fields_and_passes_the_record_id(org, app, sf, sf_session):
    acc = sf.Account.create({"Name": "Acme <GmbH>", "Industry": "Energy"})["id"]
    login(sf_session, org)
    page = sf_session.get(f"{org.instance_url}/lightning/r/Account/{acc}/view")
    assert page.status_code == 200
    assert '<td data-field="Name">Acme &lt;GmbH&gt;</td>' in page.text
    assert '<td data-field="Industry">Energy</td>' in page.text
    env = verify(signed_from(page.text), app.consumer_secret)
    assert env["context"]["environment"]["parameters"] == {"recordId": acc, "sObjectName": "Account"}
    missing = sf_session.get(f"{org.instance_url}/lightning/r/Contact/{acc}/view")
    assert missing.status_code == 404


def test_a_page_layout_canvas_gets_the_record_in_its_environment(org, app, sf, sf_session):
    acc = sf.Account.create({"Name": "Acme"})["id"]
    login(sf_session, org)
    page = sf_session.get(f"{org.instance_url}/lightning/r/Account/{acc}/view?c__displayLocation=PageLayout")
    env = verify(signed_from(page.text), app.consumer_secret)
    envr = env["context"]["environment"]
    assert envr["displayLocation"] == "PageLayout" and envr["parameters"] == {}
    assert envr["record"] == {"attributes": {"type": "Account", "url": f"/services/data/v66.0/sobjects/Account/{acc}"},
                              "Id": acc}
    assert env["client"]["instanceId"] == app.canvas["reference_id"] + ":"
    cfg = page_config(page.text)
    again = verify(sf_session.post(org.instance_url + cfg["refreshUrl"],
                                   headers={"X-Canvas-Page-Token": cfg["pageToken"]}).text, app.consumer_secret)
    assert again["context"]["environment"]["record"]["Id"] == acc  # a refresh keeps the page's context


def test_refresh_gives_a_new_signed_request_for_the_same_page(org, app, sf_session):
    page = login(sf_session, org)
    first = verify(signed_from(page.text), app.consumer_secret)
    cfg = page_config(page.text)
    url = org.instance_url + cfg["refreshUrl"]
    r = sf_session.post(url, headers={"X-Canvas-Page-Token": cfg["pageToken"]})
    assert r.status_code == 200
    again = verify(r.text, app.consumer_secret)
    assert again["client"]["oauthToken"] != first["client"]["oauthToken"]
    assert again["client"]["instanceId"] == first["client"]["instanceId"]
    assert again["context"]["environment"]["locationUrl"] == first["context"]["environment"]["locationUrl"]
    assert sf_session.post(url, headers={"X-Canvas-Page-Token": "forged"}).status_code == 403


def test_username_password_login_form(org, app, sf_session):
    uid = org.create_user("rep@example.com", "Rep", "Sally", password="s3cret-Pw")
    bad = sf_session.post(org.instance_url + "/login", data={"username": "rep@example.com", "pw": "wrong",
                                                             "startURL": "/lightning/n/Inflow"})
    assert bad.status_code == 401
    ok = sf_session.post(org.instance_url + "/login", data={"username": "rep@example.com", "pw": "s3cret-Pw",
                                                            "startURL": "/lightning/n/Inflow"})
    assert ok.status_code == 200 and ok.url.endswith("/lightning/n/Inflow")
    assert verify(signed_from(ok.text), app.consumer_secret)["userId"] == uid
    evil = sf_session.post(org.instance_url + "/login", data={"username": "rep@example.com", "pw": "s3cret-Pw",
                                                              "startURL": "https://evil.example/"},
                           allow_redirects=False)
    assert evil.headers["Location"] == "/lightning/page/home"


def test_self_authorize_app_gets_a_get_until_the_user_approves(org, sf_session):
    app = register_canvas_app(org, "Needs OK", CANVAS_URL, tab="NeedsOk", approval_required=True)
    page = login(sf_session, org, "/lightning/n/NeedsOk")
    assert signed_from(page.text) == ""
    src = html.escape(f"{CANVAS_URL}?_sfdc_canvas_authvalue=user_approval_required#" +
                      quote(org.instance_url, safe=""))
    assert f'src="{src}"' in page.text
    cfg = page_config(page.text)
    refresh = org.instance_url + cfg["refreshUrl"]
    assert sf_session.post(refresh, headers={"X-Canvas-Page-Token": cfg["pageToken"]}).status_code == 403
    decision = sf_session.post(org.instance_url + "/services/oauth2/authorize", allow_redirects=False, data={
        "response_type": "code", "client_id": app.consumer_key, "redirect_uri": app.callback_urls[0],
        "login_hint": org.admin_username, "action": "allow"})
    assert decision.status_code == 302 and "code=" in decision.headers["Location"]
    r = sf_session.post(refresh, headers={"X-Canvas-Page-Token": cfg["pageToken"]})
    assert r.status_code == 200 and verify(r.text, app.consumer_secret)["userId"] == org.admin_id
    approve(org, app, org.admin_id, approved=False)
    assert signed_from(sf_session.get(org.instance_url + "/lightning/n/NeedsOk").text) == ""


def test_registration_is_in_the_state_file(localorg, make_org):
    org = make_org("canvasstate")
    app = register_canvas_app(org, "Inflow", CANVAS_URL, tab="Inflow", namespace="inflow", approval_required=True)
    localorg.write_state()
    [info] = json.loads(localorg.state_file.read_text())["orgs"]["canvasstate"]["client_apps"]
    assert info["consumer_key"] == app.consumer_key and info["consumer_secret"] == app.consumer_secret
    assert info["canvas_url"] == CANVAS_URL
    assert {k: info["canvas"][k] for k in ("developer_name", "namespace", "tab", "approval_required")} == {
        "developer_name": "Inflow", "namespace": "inflow", "tab": "Inflow", "approval_required": True}


def test_app_registered_without_canvas_settings_gets_the_defaults(org, sf_session):
    plain = org.register_app("Plain App", ["https://127.0.0.1:5000/oauth/callback"], canvas_url=CANVAS_URL)
    page = login(sf_session, org, "/lightning/n/Plain_App")
    assert page.status_code == 200
    env = verify(signed_from(page.text), plain.consumer_secret)
    assert env["context"]["application"]["developerName"] == "Plain_App"
    assert plain.canvas["tab"] == "Plain_App" and plain.canvas["approval_required"] is False
