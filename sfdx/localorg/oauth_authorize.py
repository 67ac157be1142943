"""OAuth authorize: the login/consent page with Allow and Deny, the code redirect with `state`.

On an org's instance URL the org is known; on the login URL the user decides it: `login_hint`
(a username, as if already logged in there) or, with `prompt=login`, a username/password form.
Otherwise the browser counts as logged in as the admin of the first org that has the app installed.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, request

from .oauth import candidates, user_in
from .org import ClientApp, Org
from .sessions import Grant

blueprint = Blueprint("localorg_oauth_authorize", __name__)
_PARAMS = ("response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge",
           "code_challenge_method", "login_hint", "prompt", "display")
_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>{error}
<p><b>{app}</b> is asking to access your Salesforce data{who} ({scope}).</p>
<form method="post" action="/services/oauth2/authorize">{hidden}{login}
<button type="submit" name="action" value="allow" id="oaapprove">Allow</button>
<button type="submit" name="action" value="deny" id="oadeny">Deny</button>
</form></body></html>"""
_LOGIN = ('<p><label>Username <input name="username" id="username"></label></p>'
          '<p><label>Password <input name="password" id="password" type="password"></label></p>')
Choice = tuple[Org, ClientApp, str]


def _plain(text: str) -> Response:
    return Response(text, 400, content_type="text/plain")


def _back(params: dict[str, str], **query: str) -> Response:
    if params.get("state") is not None:
        query["state"] = params["state"]
    sep = "&" if "?" in params["redirect_uri"] else "?"
    return redirect(params["redirect_uri"] + sep + urlencode(query), 302)


def _check(params: dict[str, str]) -> list[tuple[Org, ClientApp]] | Response:
    cands = candidates(params.get("client_id"))
    if not cands:
        return _plain("error=invalid_client_id&error_description=client%20identifier%20invalid")
    if params.get("redirect_uri") not in cands[0][1].callback_urls:
        return _plain("error=redirect_uri_mismatch&error_description=redirect_uri%20must%20match%20configuration")
    if params.get("response_type") != "code":
        return _back(params, error="unsupported_response_type", error_description="response type not supported")
    if params.get("code_challenge") and params.get("code_challenge_method", "S256") != "S256":
        return _back(params, error="invalid_request", error_description="unsupported code challenge method")
    return cands


def _choose(cands: list[tuple[Org, ClientApp]], params: dict[str, str]) -> Choice | None:
    """Who approves: the login form's user (password checked), the login_hint user, or the one org's admin."""
    username = request.form.get("username")
    if username:
        found = user_in(cands, username)
        ok = found is not None and found[0].password_ok(found[2], request.form.get("password", ""))
        return found if ok else None
    if params.get("login_hint"):
        return user_in(cands, params["login_hint"])
    if "login" in params.get("prompt", "").split():
        return None
    return cands[0][0], cands[0][1], cands[0][0].admin_id


def _page(cands: list[tuple[Org, ClientApp]], params: dict[str, str], choice: Choice | None,
          error: str = "") -> Response:
    hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in params.items())
    user = (choice[0].store.get(choice[2]) or {}).get("Username", "") if choice else ""
    page = _PAGE.format(title="Allow Access?" if choice else "Login", app=html.escape(cands[0][1].name),
                        who=f" as <b>{html.escape(user)}</b>" if choice else "",
                        scope=html.escape(params.get("scope", "api refresh_token")), hidden=hidden,
                        login="" if choice else _LOGIN, error=f'<p class="error">{error}</p>' if error else "")
    return Response(page, 200, content_type="text/html;charset=UTF-8")


@blueprint.get("/services/oauth2/authorize")
def authorize_page() -> Response:
    params = {k: request.args[k] for k in _PARAMS if k in request.args}
    cands = _check(params)
    if isinstance(cands, Response):
        return cands
    return _page(cands, params, _choose(cands, params))


@blueprint.post("/services/oauth2/authorize")
def authorize_decision() -> Response:
    params = {k: request.form[k] for k in _PARAMS if k in request.form}
    cands = _check(params)
    if isinstance(cands, Response):
        return cands
    if request.form.get("action") != "allow":
        return _back(params, error="access_denied", error_description="end-user denied authorization")
    choice = _choose(cands, params)
    if choice is None:
        return _page(cands, params, None, "Please check your username and password.")
    org, app, user_id = choice
    grant = Grant(user_id, app.consumer_key, params.get("scope") or "api refresh_token", params["redirect_uri"],
                  params.get("code_challenge"), params.get("code_challenge_method"))
    return _back(params, code=org.sessions.new_code(grant))
