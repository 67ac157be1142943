"""Admin endpoint for knobs and orgs, guarded by the local secret from the state file.

All calls need the header `X-Localorg-Admin: <admin_secret>`:
  GET   /_localorg/state                       the state file's content
  PATCH /_localorg/knobs  {"org": name?, ...}  latency_ms, api_allowance, token_lifetime, lock_rate,
                                               lock_seed, fail_bulk_jobs, fail_bulk_message, unavailable,
                                               hang_seconds, api_used
  POST  /_localorg/orgs   {"name": n}          create an org
  POST  /_localorg/orgs/<name>/apps            {"name","callback_urls","canvas_url"} register a client app
  POST  /_localorg/orgs/<name>/token           a fresh ready access token (also written to the state file)
"""

from __future__ import annotations

import hmac
from dataclasses import fields
from typing import Any

from flask import Blueprint, Response, request

from .org import Knobs
from .web import server, sf_json

blueprint = Blueprint("localorg_admin", __name__, url_prefix="/_localorg")
KNOB_NAMES = {f.name: f.type for f in fields(Knobs)}


@blueprint.before_request
def _guard() -> Response | None:
    given = request.headers.get("X-Localorg-Admin", "")
    if not hmac.compare_digest(given, server().admin_secret):
        return sf_json([{"errorCode": "INSUFFICIENT_ACCESS", "message": "admin secret required"}], 403)
    return None


@blueprint.get("/state")
def state() -> Response:
    return sf_json(server().state())


def _coerce(name: str, value: Any) -> Any:
    current = getattr(Knobs(), name)
    if isinstance(current, bool):
        return bool(value)
    return type(current)(value)


@blueprint.patch("/knobs")
def knobs() -> Response:
    body = request.get_json(force=True, silent=True) or {}
    try:
        changes = {k: _coerce(k, v) for k, v in body.items() if k in KNOB_NAMES}
    except (TypeError, ValueError) as exc:
        return sf_json([{"errorCode": "INVALID_INPUT", "message": str(exc)}], 400)
    unknown = sorted(set(body) - set(KNOB_NAMES) - {"org", "api_used"})
    if unknown:
        return sf_json([{"errorCode": "INVALID_INPUT", "message": f"unknown knobs: {unknown}"}], 400)
    srv = server()
    targets = [srv.orgs[body["org"]]] if body.get("org") in srv.orgs else list(srv.orgs.values())
    if body.get("org") and body["org"] not in srv.orgs:
        return sf_json([{"errorCode": "NOT_FOUND", "message": f"no org {body['org']}"}], 404)
    srv.set_knobs(targets if body.get("org") else None, **changes)
    for org in targets:
        if "api_used" in body:
            org.api_used = int(body["api_used"])
    srv.write_state()
    return sf_json({org.name: {**vars(org.knobs), "api_used": org.api_used} for org in targets})


@blueprint.post("/orgs")
def create_org() -> Response:
    body = request.get_json(force=True, silent=True) or {}
    org = server().create_org(body.get("name"))
    return sf_json(org.info(), 201)


@blueprint.post("/orgs/<name>/apps")
def register_app(name: str) -> Response:
    srv = server()
    if name not in srv.orgs:
        return sf_json([{"errorCode": "NOT_FOUND", "message": f"no org {name}"}], 404)
    body = request.get_json(force=True, silent=True) or {}
    app = srv.orgs[name].register_app(body.get("name", "App"), body.get("callback_urls", []),
                                      body.get("canvas_url"))
    srv.write_state()
    return sf_json(app.info(), 201)


@blueprint.post("/orgs/<name>/token")
def fresh_token(name: str) -> Response:
    srv = server()
    if name not in srv.orgs:
        return sf_json([{"errorCode": "NOT_FOUND", "message": f"no org {name}"}], 404)
    org = srv.orgs[name]
    org.ready_token = org.sessions.issue(org.admin_id, None, "full").token
    srv.write_state()
    return sf_json({"access_token": org.ready_token, "instance_url": org.instance_url}, 201)
