"""OAuth web-server flow with PKCE, refresh, revoke, userinfo and identity, driven by Authlib's OAuth2Session."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from urllib.parse import parse_qs, urlparse

import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

CALLBACK = "https://127.0.0.1:5000/oauth/callback"


@pytest.fixture
def client_app(org):
    return org.register_app("Inflow", [CALLBACK])


def oauth_session(localorg, app, **kw):
    s = OAuth2Session(app.consumer_key, app.consumer_secret, redirect_uri=CALLBACK,
                      code_challenge_method="S256", scope="api refresh_token", **kw)
    s.verify, s.trust_env = str(localorg.ca_path), False
    return s


def approve(localorg, sf_session, url):
    """What a user does: open the consent page and press Allow; returns the callback URL."""
    page = sf_session.get(url)
    assert page.status_code == 200 and "Allow" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    resp = sf_session.post(localorg.base_url + "/services/oauth2/authorize", data={**fields, "action": "allow"},
                           allow_redirects=False)
    assert resp.status_code == 302
    return resp.headers["Location"]


def authorize(localorg, sf_session, app, verifier=None):
    s = oauth_session(localorg, app)
    verifier = verifier or secrets.token_urlsafe(48)
    url, state = s.create_authorization_url(localorg.base_url + "/services/oauth2/authorize", code_verifier=verifier)
    return s, verifier, state, approve(localorg, sf_session, url)


def test_code_flow_with_pkce_refresh_and_revoke(localorg, sf_session, org, client_app):
    s, verifier, state, callback = authorize(localorg, sf_session, client_app)
    assert callback.startswith(CALLBACK) and parse_qs(urlparse(callback).query)["state"] == [state]
    token = s.fetch_token(localorg.base_url + "/services/oauth2/token", authorization_response=callback,
                          code_verifier=verifier)
    assert token["instance_url"] == org.instance_url and token["token_type"] == "Bearer"
    assert token["id"] == f"{localorg.base_url}/id/{org.id}/{org.admin_id}"
    expected = base64.b64encode(hmac.new(client_app.consumer_secret.encode(),
                                         (token["id"] + token["issued_at"]).encode(), hashlib.sha256).digest())
    assert token["signature"] == expected.decode() and token["issued_at"].isdigit()
    api = s.get(org.instance_url + "/services/data/v66.0/sobjects/Account/describe")
    assert api.status_code == 200

    refreshed = s.refresh_token(localorg.base_url + "/services/oauth2/token")
    assert refreshed["access_token"] != token["access_token"]
    assert s.get(org.instance_url + "/services/data/v66.0/limits").status_code == 200

    revoked = s.revoke_token(localorg.base_url + "/services/oauth2/revoke", token=token["refresh_token"])
    assert revoked.status_code == 200
    after = s.get(org.instance_url + "/services/data/v66.0/limits")
    assert after.status_code == 401
    assert after.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    with pytest.raises(OAuthError) as exc:
        s.refresh_token(localorg.base_url + "/services/oauth2/token")
    assert exc.value.error == "invalid_grant"


def test_wrong_pkce_verifier_and_reused_code_fail(localorg, sf_session, client_app):
    s, verifier, _, callback = authorize(localorg, sf_session, client_app)
    with pytest.raises(OAuthError) as exc:
        s.fetch_token(localorg.base_url + "/services/oauth2/token", authorization_response=callback,
                      code_verifier="x" * 50)
    assert exc.value.error == "invalid_request" and exc.value.description == "invalid code verifier"
    with pytest.raises(OAuthError) as again:
        s.fetch_token(localorg.base_url + "/services/oauth2/token", authorization_response=callback,
                      code_verifier=verifier)
    assert again.value.error == "invalid_grant"


def test_deny_and_unknown_client(localorg, sf_session, client_app):
    s = oauth_session(localorg, client_app)
    url, state = s.create_authorization_url(localorg.base_url + "/services/oauth2/authorize",
                                            code_verifier=secrets.token_urlsafe(48))
    page = sf_session.get(url)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    denied = sf_session.post(localorg.base_url + "/services/oauth2/authorize", data={**fields, "action": "deny"},
                             allow_redirects=False)
    q = parse_qs(urlparse(denied.headers["Location"]).query)
    assert q["error"] == ["access_denied"] and q["state"] == [state]
    bad = sf_session.get(localorg.base_url + "/services/oauth2/authorize",
                         params={"response_type": "code", "client_id": "nope", "redirect_uri": CALLBACK})
    assert bad.status_code == 400 and "invalid_client_id" in bad.text
    mismatch = sf_session.get(localorg.base_url + "/services/oauth2/authorize", params={
        "response_type": "code", "client_id": client_app.consumer_key, "redirect_uri": "https://evil.example/cb"})
    assert mismatch.status_code == 400 and "redirect_uri_mismatch" in mismatch.text


def test_password_grant_userinfo_and_identity(localorg, sf_session, org, client_app):
    r = sf_session.post(localorg.base_url + "/services/oauth2/token", data={
        "grant_type": "password", "client_id": client_app.consumer_key,
        "client_secret": client_app.consumer_secret, "username": org.admin_username, "password": org.admin_password})
    tok = r.json()
    assert r.status_code == 200 and "refresh_token" not in tok
    auth = {"Authorization": f"Bearer {tok['access_token']}"}
    info = sf_session.get(org.instance_url + "/services/oauth2/userinfo", headers=auth).json()
    assert info["user_id"] == org.admin_id and info["organization_id"] == org.id
    assert info["preferred_username"] == org.admin_username
    ident = sf_session.get(tok["id"], headers=auth).json()
    assert ident["username"] == org.admin_username and ident["urls"]["rest"].endswith("/services/data/v66.0/")
    wrong = sf_session.post(localorg.base_url + "/services/oauth2/token", data={
        "grant_type": "password", "client_id": client_app.consumer_key,
        "client_secret": client_app.consumer_secret, "username": org.admin_username, "password": "nope"})
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_grant", "error_description": "authentication failure"}
    assert sf_session.get(org.instance_url + "/services/oauth2/userinfo",
                          headers={"Authorization": "Bearer junk"}).status_code == 403
    assert sf_session.post(localorg.base_url + "/services/oauth2/revoke", data={"token": tok["access_token"]}).ok
    gone = sf_session.get(org.instance_url + "/services/oauth2/userinfo", headers=auth)
    assert gone.status_code == 403 and gone.text == "Bad_OAuth_Token"  # a revoked token, as Salesforce answers


def test_revoke_unknown_token_is_400(localorg, sf_session):
    r = sf_session.post(localorg.base_url + "/services/oauth2/revoke", data={"token": "nope"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_token"


def test_one_packaged_key_in_many_orgs_the_user_decides_the_org(localorg, sf_session, make_org):
    key, secret = "3MVG9SharedPackagedKey" + secrets.token_hex(4), "S" * 64
    first, second = make_org(), make_org()
    for o in (first, second):
        o.register_app("Inflow", [CALLBACK], consumer_key=key, consumer_secret=secret)
    app = first.apps[key]
    s = oauth_session(localorg, app)
    verifier = secrets.token_urlsafe(48)
    url, _ = s.create_authorization_url(localorg.base_url + "/services/oauth2/authorize", code_verifier=verifier,
                                        prompt="login")
    page = sf_session.get(url)
    assert 'name="username"' in page.text and 'name="password"' in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    wrong = sf_session.post(localorg.base_url + "/services/oauth2/authorize", allow_redirects=False, data={
        **fields, "action": "allow", "username": second.admin_username, "password": "nope"})
    assert wrong.status_code == 200 and "check your username and password" in wrong.text
    ok = sf_session.post(localorg.base_url + "/services/oauth2/authorize", allow_redirects=False, data={
        **fields, "action": "allow", "username": second.admin_username, "password": second.admin_password})
    token = s.fetch_token(localorg.base_url + "/services/oauth2/token", authorization_response=ok.headers["Location"],
                          code_verifier=verifier)
    assert token["instance_url"] == second.instance_url and f"/id/{second.id}/" in token["id"]
    hinted, _ = s.create_authorization_url(localorg.base_url + "/services/oauth2/authorize",
                                           code_verifier=verifier, login_hint=first.admin_username)
    assert approve(localorg, sf_session, hinted).startswith(CALLBACK + "?code=")
