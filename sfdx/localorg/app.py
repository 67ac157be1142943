"""The Flask app behind every localorg listener: request hooks, error shapes and the blueprints it mounts.

To add an API, write a module with a module-level `blueprint`, import it here and list it in BLUEPRINT_MODULES;
other blueprints can be added with `register_extension(bp)` before the server starts.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from . import (
    actions,
    admin,
    bulk1,
    bulk2,
    canvas,
    canvas_sdk,
    composite,
    composite_tree,
    metadata_api,
    oauth,
    oauth_authorize,
    query,
    rest,
    rest_locks,
    soap,
)
from .errors import SfError, not_found, unavailable
from .metering import add_usage_header, meter
from .web import MAX_VERSION, MIN_VERSION, authenticate, bearer_token, sf_error, sf_json

if TYPE_CHECKING:
    from .host import Host
    from .org import Org

log = logging.getLogger(__name__)
BLUEPRINT_MODULES = (rest, query, composite, composite_tree, oauth, oauth_authorize, soap, admin,
                     bulk2, bulk1, canvas, canvas_sdk, actions, metadata_api)
_EXTRA: list[Blueprint] = []
_DATA = re.compile(r"^/services/data/v(\d+)\.(\d)(?:/|$)")


def register_extension(bp: Blueprint) -> None:
    """Mount `bp` in apps created from now on (call before LocalOrgServer.start)."""
    _EXTRA.append(bp)


def _before() -> Response | None:
    g.org = request.environ.get("localorg.org")
    m = _DATA.match(request.path)
    if m is None:
        return None
    g.api_version = f"{m.group(1)}.{m.group(2)}"
    if not MIN_VERSION <= int(m.group(1)) <= MAX_VERSION or m.group(2) != "0":
        raise not_found()
    org, _ = authenticate(bearer_token())
    if request.environ.get("localorg.internal"):
        return None  # a /composite subrequest: the outer call was already counted
    if org.knobs.hang_seconds:
        _hang(org)
    if org.knobs.unavailable:
        raise unavailable(org.knobs.unavailable)  # an outage, before anything is counted or done
    if org.knobs.latency_ms and not rest_locks.defer_latency():   # write views sleep it holding their locks
        time.sleep(org.knobs.latency_ms / 1000)
    meter(org)
    return None


def _hang(org: Org) -> None:
    """A hung org: hold the call `hang_seconds` before going on, as a server that accepts and does not answer.
    Clearing the knob ends the hang of calls already waiting (the outage is over; they are answered late)."""
    until = time.monotonic() + org.knobs.hang_seconds
    while org.knobs.hang_seconds and time.monotonic() < until:
        time.sleep(0.1)


def _after(resp: Response) -> Response:
    if g.get("org") is not None:
        rest_locks.settle(g.org.knobs.latency_ms)   # a write view that failed before taking its locks
    add_usage_header(resp)
    return resp


def _http_error(exc: HTTPException) -> Response:
    if exc.code == 405:
        allowed = ",".join(sorted(m for m in (exc.valid_methods or []) if m not in ("HEAD", "OPTIONS")))
        return sf_json([{"errorCode": "METHOD_NOT_ALLOWED",
                         "message": f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}"}], 405)
    if exc.code == 404:
        return sf_error(not_found())
    return sf_json([{"errorCode": "UNKNOWN_EXCEPTION", "message": exc.description or ""}], exc.code or 500)


def _unexpected(exc: Exception) -> Response:
    error_id = f"{secrets.randbelow(10**9)}-{secrets.randbelow(10**5)} ({secrets.randbelow(10**10)})"
    log.error("localorg: unexpected error %s on %s %s", error_id, request.method, request.path, exc_info=exc)
    return sf_json([{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred. Please include "
                     f"this ErrorId if you contact support: {error_id}"}], 500)


def create_app(srv: Host) -> Flask:
    """The WSGI app shared by all listeners of `srv` (the org comes from the listener)."""
    app = Flask("sfdx.localorg")
    app.extensions["localorg"] = srv
    app.url_map.strict_slashes = False
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(lambda exc: rest_locks.release())
    app.register_error_handler(SfError, lambda e: sf_error(e, request.get_data(cache=True)))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.register_blueprint(rest.versions_bp)
    for module in BLUEPRINT_MODULES:
        app.register_blueprint(module.blueprint)
    for bp in _EXTRA:
        app.register_blueprint(bp)
    return app
