"""OAuth 2.0: token (code with PKCE, refresh, password), revoke, userinfo and the identity URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from flask import Blueprint, Response, request

from .org import ClientApp, Org
from .web import bearer_token, server, sf_json

blueprint = Blueprint("localorg_oauth", __name__)


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return sf_json({"error": error, "error_description": description}, status)


def candidates(client_id: str | None) -> list[tuple[Org, ClientApp]]:
    """Orgs that have client app `client_id` installed (just this org on an org's own instance URL).

    A packaged app has one consumer key in every subscriber org, so on the login URL the user who
    logs in, not the key, decides the org.
    """
    here = request.environ.get("localorg.org")
    orgs = [here] if here is not None else list(server().orgs.values())
    return [(o, o.apps[client_id]) for o in orgs if client_id and client_id in o.apps]


def user_in(cands: list[tuple[Org, ClientApp]], username: str) -> tuple[Org, ClientApp, str] | None:
    for org, app in cands:
        ids = org.store.table("User").find("Username", username)
        if ids:
            return org, app, ids[0]
    return None


def _client_credentials() -> tuple[str | None, str | None]:
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        return auth.username, auth.password
    return request.form.get("client_id"), request.form.get("client_secret")


def _token_response(org: Org, app: ClientApp, user_id: str, scope: str, refresh: str | None,
                    new_refresh: bool) -> Response:
    if new_refresh and ("refresh_token" in scope.split() or "offline_access" in scope.split()):
        refresh = org.sessions.new_refresh_token(user_id, app.consumer_key, scope)
    session = org.sessions.issue(user_id, app.consumer_key, scope, refresh)
    issued_at = str(int(session.issued_at * 1000))
    ident = f"{server().base_url}/id/{org.id}/{user_id}"
    signature = base64.b64encode(hmac.new(app.consumer_secret.encode(), (ident + issued_at).encode(),
                                          hashlib.sha256).digest()).decode()
    body: dict[str, Any] = {"access_token": session.token}
    if new_refresh and refresh:
        body["refresh_token"] = refresh
    body.update(signature=signature, scope=scope, instance_url=org.instance_url, id=ident, token_type="Bearer",
                issued_at=issued_at)
    return sf_json(body)


@blueprint.post("/services/oauth2/token")
def token() -> Response:
    client_id, secret = _client_credentials()
    grant_type = request.form.get("grant_type")
    cands = candidates(client_id)
    if not cands:
        return oauth_error("invalid_client_id", "client identifier invalid")
    if grant_type == "password":
        return _password_grant(cands, secret)
    if grant_type == "authorization_code":
        code = request.form.get("code", "")
        org, app = next(((o, a) for o, a in cands if code in o.sessions.codes), cands[0])
        if not secret or not hmac.compare_digest(secret, app.consumer_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        return _code_grant(org, app)
    if grant_type == "refresh_token":
        refresh = request.form.get("refresh_token", "")
        org, app = next(((o, a) for o, a in cands if refresh in o.sessions.refresh_tokens), cands[0])
        if secret is not None and not hmac.compare_digest(secret, app.consumer_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        g = org.sessions.refresh_tokens.get(refresh)
        if g is None or g.revoked or g.app != app.consumer_key:
            return oauth_error("invalid_grant", "expired access/refresh token")
        return _token_response(org, app, g.user_id, g.scope, refresh, False)
    return oauth_error("unsupported_grant_type", "grant type not supported")


def _code_grant(org: Org, app: ClientApp) -> Response:
    g = org.sessions.take_code(request.form.get("code", ""))
    if g is None or g.app != app.consumer_key:
        return oauth_error("invalid_grant", "invalid authorization code")
    if request.form.get("redirect_uri") != g.redirect_uri:
        return oauth_error("invalid_grant", "redirect_uri must match configuration")
    if g.code_challenge:
        verifier = request.form.get("code_verifier")
        if not verifier:
            return oauth_error("invalid_grant", "invalid code verifier")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not hmac.compare_digest(digest, g.code_challenge):
            return oauth_error("invalid_request", "invalid code verifier")
    return _token_response(org, app, g.user_id, g.scope, None, True)


def _password_grant(cands: list[tuple[Org, ClientApp]], secret: str | None) -> Response:
    if not secret or not hmac.compare_digest(secret, cands[0][1].consumer_secret):
        return oauth_error("invalid_client", "invalid client credentials")
    found = user_in(cands, request.form.get("username", ""))
    if found is None or not found[0].password_ok(found[2], request.form.get("password", "")):
        return oauth_error("invalid_grant", "authentication failure")
    return _token_response(found[0], found[1], found[2], "api web full", None, False)


@blueprint.route("/services/oauth2/revoke", methods=["POST", "GET"])
def revoke() -> Response:
    tok = request.form.get("token") or request.args.get("token") or ""
    org = request.environ.get("localorg.org") or server().org_for_token(tok)
    if org is None:
        org = next((o for o in server().orgs.values() if tok in o.sessions.refresh_tokens), None)
    if org is None or not org.sessions.revoke(tok):
        return oauth_error("invalid_token", "invalid token")
    return Response(status=200)


def _session() -> tuple[Org, Any] | None:
    tok = bearer_token() or request.args.get("oauth_token") or ""
    org = request.environ.get("localorg.org") or server().org_for_token(tok)
    s = org.sessions.check(tok) if org is not None else None
    return (org, s) if s is not None else None


def _identity(org: Org, user_id: str) -> dict[str, Any]:
    u = org.store.get(user_id) or {}
    base = org.instance_url
    v = "66.0"
    return {
        "id": f"{server().base_url}/id/{org.id}/{user_id}", "asserted_user": True, "user_id": user_id,
        "organization_id": org.id, "username": u.get("Username"), "nick_name": u.get("Alias"),
        "display_name": u.get("Name"), "email": u.get("Email"), "email_verified": True,
        "first_name": u.get("FirstName"), "last_name": u.get("LastName"), "timezone": u.get("TimeZoneSidKey"),
        "photos": {"picture": f"{base}/profilephoto/005/F", "thumbnail": f"{base}/profilephoto/005/T"},
        "active": bool(u.get("IsActive", True)), "user_type": "STANDARD", "language": "en_US",
        "locale": "en_US", "utcOffset": -28800000, "last_modified_date": u.get("LastModifiedDate"),
        "is_app_installed": True,
        "urls": {k: f"{base}/services/{p}".replace("{version}", v) for k, p in (
            ("enterprise", f"Soap/c/{{version}}/{org.id}"), ("metadata", f"Soap/m/{{version}}/{org.id}"),
            ("partner", f"Soap/u/{{version}}/{org.id}"), ("rest", "data/v{version}/"),
            ("sobjects", "data/v{version}/sobjects/"), ("search", "data/v{version}/search/"),
            ("query", "data/v{version}/query/"), ("recent", "data/v{version}/recent/"))}
        | {"custom_domain": base, "profile": f"{base}/{user_id}"},
    }


@blueprint.get("/services/oauth2/userinfo")
def userinfo() -> Response:
    found = _session()
    if found is None:
        return Response("Bad_OAuth_Token", 403, content_type="text/plain")
    org, s = found
    org.extra["userinfo_calls"] = org.extra.get("userinfo_calls", 0) + 1  # lets tests see round trips saved
    ident = _identity(org, s.user_id)
    return sf_json({"sub": ident["id"], "user_id": s.user_id, "organization_id": org.id,
                    "preferred_username": ident["username"], "nickname": ident["nick_name"],
                    "name": ident["display_name"], "email": ident["email"], "email_verified": True,
                    "given_name": ident["first_name"], "family_name": ident["last_name"],
                    "zoneinfo": ident["timezone"], "photos": ident["photos"], "profile": ident["urls"]["profile"],
                    "picture": ident["photos"]["picture"], "active": ident["active"], "user_type": "STANDARD",
                    "language": "en_US", "locale": "en_US", "utcOffset": -28800000,
                    "updated_at": ident["last_modified_date"], "urls": ident["urls"]})


@blueprint.get("/id/<org_id>/<user_id>")
def identity(org_id: str, user_id: str) -> Response:
    found = _session()
    if found is None:
        return Response("Bad_OAuth_Token", 403, content_type="text/plain")
    org, s = found
    if org.id[:15] != org_id[:15] or org.store.get(user_id) is None:
        return Response("Bad_Id", 403, content_type="text/plain")
    return sf_json(_identity(org, user_id))


