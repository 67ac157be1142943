"""Canvas host: a stand-in for Lightning pages on an org's instance URL that embed canvas apps.

Log in with `GET /secur/frontdoor.jsp?sid=<access token>[&retURL=/lightning/n/Inflow]` (sets the `sid`
session cookie) or the form at `/login` (username + password from the state file). Pages:
  /lightning/n/<Tab>                 app tab of the canvas app whose `tab` is <Tab> (namespace__<Tab> too)
  /lightning/r/<Object>/<Id>/view    record page: the record's fields plus the canvas app (parameters carry
                                     recordId and sObjectName; `?c__canvasApp=<developerName>` picks the app;
                                     `?c__displayLocation=PageLayout` hosts it as a page-layout canvas does:
                                     environment.record filled, parameters empty)
Each page auto-POSTs `signed_request` into the iframe `canvas-frame-<instanceId>`; the page script answers
the SDK's refresh / repost / resize / ajax / ctx messages. `POST /lightning/canvas/signedrequest` (header
`X-Canvas-Page-Token`, same session cookie) mints a fresh signed request for that page.
"""

from __future__ import annotations

import itertools
import secrets
from collections import OrderedDict
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from flask import Blueprint, Response, g, redirect, request

from .canvas_page import canvas_page, login_page, record_card
from .canvas_request import API_VERSION, approve, canvas_apps, needs_approval, register_canvas_app, signed_request
from .web import server

if TYPE_CHECKING:
    from .org import ClientApp, Org

__all__ = ["blueprint", "register_canvas_app", "approve"]
blueprint = Blueprint("localorg_canvas", __name__)
COOKIE = "sid"
MAX_PAGES = 200   # remembered page contexts per org (for refresh); oldest dropped
_instances = itertools.count(1)
HTML = "text/html;charset=UTF-8"


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type=HTML, headers={"Cache-Control": "no-store"})


def _safe_path(url: str | None, default: str = "/lightning/page/home") -> str:
    """Only same-site relative paths, so login cannot be turned into an open redirect."""
    if not url or not url.startswith("/") or url.startswith("//") or urlsplit(url).netloc:
        return default
    return url


def _with_cookie(resp: Response, token: str) -> Response:
    resp.set_cookie(COOKIE, token, secure=True, httponly=True, samesite="Lax", path="/")
    return resp


def _current_user(org: Org) -> str | None:
    token = request.cookies.get(COOKIE)
    session = org.sessions.check(token) if token else None
    return session.user_id if session is not None else None


def _need_login() -> Response:
    return redirect("/login?startURL=" + quote(request.full_path.rstrip("?"), safe=""), 302)


@blueprint.get("/secur/frontdoor.jsp")
def frontdoor() -> Response:
    sid = request.args.get("sid", "")
    ret = _safe_path(request.args.get("retURL"))
    org = g.org or server().org_for_token(sid)
    if org is None or org.sessions.check(sid) is None:
        return _html(login_page(ret, error="Your session has expired. Please log in again."), 401)
    if g.org is None:   # the login host: continue on the org's own instance URL
        return redirect(f"{org.instance_url}/secur/frontdoor.jsp?sid={quote(sid, safe='')}&retURL={quote(ret)}")
    return _with_cookie(redirect(ret, 302), sid)


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response:
    start = _safe_path(request.values.get("startURL"))
    if request.method == "GET":
        return _html(login_page(start))
    username, password = request.form.get("username", ""), request.form.get("pw", "")
    found = server().org_for_username(username)
    org = found[0] if found else None
    if found is None or (g.org is not None and org is not g.org) or not org.password_ok(found[1], password):
        return _html(login_page(start, username, "Please check your username and password."), 401)
    session = org.sessions.issue(found[1], None, "web api")
    if g.org is None:
        return redirect(f"{org.instance_url}/secur/frontdoor.jsp?sid={quote(session.token, safe='')}"
                        f"&retURL={quote(start)}")
    return _with_cookie(redirect(start, 302), session.token)


@blueprint.get("/secur/logout.jsp")
def logout() -> Response:
    resp = redirect("/login", 302)
    resp.delete_cookie(COOKIE, path="/")
    return resp


@blueprint.get("/lightning/page/home")
def home() -> Response:
    org = g.org
    if org is None or _current_user(org) is None:
        return _need_login()
    links = "".join(f'<li><a href="/lightning/n/{quote(a.canvas["tab"])}">{a.name}</a></li>' for a in canvas_apps(org))
    return _html(f"<!DOCTYPE html><html><body><h1>{org.name}</h1><ul>{links}</ul></body></html>")


@blueprint.get("/lightning/n/<tab>")
def app_tab(tab: str) -> Response:
    org = g.org
    user = _current_user(org) if org is not None else None
    if org is None or user is None:
        return _need_login()
    for app in canvas_apps(org):
        names = {app.canvas["tab"], f'{app.canvas["namespace"]}__{app.canvas["tab"]}'}
        if tab in names:
            return _render(org, app, user, tab, {}, "")
    return _html(f"<!DOCTYPE html><html><body><h1>Page doesn't exist</h1><p>{tab}</p></body></html>", 404)


@blueprint.get("/lightning/r/<obj_name>/<rid>/view")
def record_page(obj_name: str, rid: str) -> Response:
    org = g.org
    user = _current_user(org) if org is not None else None
    if org is None or user is None:
        return _need_login()
    obj = org.schema.get(obj_name)
    rec = org.store.get(rid) if obj is not None else None
    if obj is None or rec is None or rec["Id"][:3] != obj.key_prefix:
        return _html("<!DOCTYPE html><html><body><h1>Record not found</h1></body></html>", 404)
    apps = canvas_apps(org)
    wanted = request.args.get("c__canvasApp")
    app = next((a for a in apps if a.canvas["developer_name"] == wanted), None) if wanted else \
        (apps[0] if apps else None)
    card = record_card(obj.label, {k: rec.get(k) for k in obj.fields})
    if app is None:
        return _html(f"<!DOCTYPE html><html><body>{card}</body></html>")
    title = f"{obj.label}: {rec.get('Name') or rec['Id']}"
    if request.args.get("c__displayLocation") == "PageLayout":
        where = {"display_location": "PageLayout", "record": {"type": obj.name, "Id": rec["Id"]}}
        return _render(org, app, user, title, {}, card, where)
    return _render(org, app, user, title, {"recordId": rec["Id"], "sObjectName": obj.name}, card)


def _render(org: Org, app: ClientApp, user: str, title: str, params: dict[str, Any], card: str,
            where: dict[str, Any] | None = None) -> Response:
    settings = app.canvas or {}
    where = where or {}
    # Aura hosts name the instance after the component; page layouts after the app's reference id (captures).
    iid = f"{settings['reference_id']}:" if where.get("display_location") == "PageLayout" else \
        f"_:{settings['developer_name']}:{next(_instances)};a:canvasapp"
    location = org.instance_url + request.full_path.rstrip("?")
    token = secrets.token_urlsafe(24)
    pages: OrderedDict[str, tuple[str, str, str, str, dict[str, Any], dict[str, Any]]] = \
        org.extra.setdefault("canvas_pages", OrderedDict())
    pages[token] = (app.consumer_key, user, location, iid, params, where)
    while len(pages) > MAX_PAGES:
        pages.popitem(last=False)
    assert app.canvas_url is not None
    origin = "#" + quote(org.instance_url, safe="")
    if needs_approval(org, app, user):
        signed, src = None, f"{app.canvas_url}?_sfdc_canvas_authvalue=user_approval_required{origin}"
    else:
        signed, src = signed_request(org, app, user, location, iid, params, **where), "about:blank"
    config = {"refreshUrl": "/lightning/canvas/signedrequest", "pageToken": token, "version": API_VERSION,
              "instanceId": iid}
    return _html(canvas_page(title, org.name, app.name, settings["developer_name"], iid, app.canvas_url,
                             app.canvas_url + origin, signed, src, config, card))


@blueprint.post("/lightning/canvas/signedrequest")
def refresh() -> Response:
    """A fresh signed request for the page identified by X-Canvas-Page-Token (same logged-in user)."""
    org = g.org
    page = org.extra.get("canvas_pages", {}).get(request.headers.get("X-Canvas-Page-Token", "")) if org else None
    user = _current_user(org) if org is not None else None
    if org is None or page is None or user != page[1] or page[0] not in org.apps:
        return Response("invalid canvas page", status=403, content_type="text/plain")
    app = org.apps[page[0]]
    if needs_approval(org, app, user):
        return Response("user_approval_required", status=403, content_type="text/plain")
    return Response(signed_request(org, app, user, page[2], page[3], page[4], **page[5]),
                    content_type="text/plain", headers={"Cache-Control": "no-store"})


@blueprint.after_app_request
def _remember_oauth_approval(resp: Response) -> Response:
    """Approving a canvas app in the OAuth authorize page (self-authorize) counts as the user's approval."""
    if request.path == "/services/oauth2/authorize" and request.method == "POST" and resp.status_code == 302 \
            and "code=" in (resp.headers.get("Location") or "") and request.form.get("action") == "allow":
        found = server().org_for_client(request.form.get("client_id", ""))
        if found is not None:
            hint = request.form.get("login_hint")
            ids = found.store.table("User").find("Username", hint) if hint else []
            user = ids[0] if ids else (_current_user(found) or found.admin_id)
            approve(found, found.apps[request.form["client_id"]], user)
    return resp
