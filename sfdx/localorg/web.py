"""Shared HTTP helpers for localorg blueprints: Salesforce-style JSON, the current org and session."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import Response, current_app, g, request

from .errors import SfError, invalid_session, not_found

if TYPE_CHECKING:
    from .host import Host
    from .org import Org
    from .sessions import Session

JSON_TYPE = "application/json;charset=UTF-8"
MIN_VERSION, MAX_VERSION = 31, 66


def server() -> Host:
    return current_app.extensions["localorg"]


def sf_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON the way Salesforce sends it (`"key" : value` when X-PrettyPrint is set)."""
    if request.headers.get("X-PrettyPrint"):
        body = json.dumps(data, indent=2, separators=(",", " : "), ensure_ascii=False)
    else:
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status=status, headers=headers, content_type=JSON_TYPE)


def sf_error(err: SfError, body: bytes | None = None) -> Response:
    if err.code == "JSON_PARSER_ERROR" and "[line:" not in err.message:
        found = err.json_value is not None and body is not None
        err.message += _position(body, err.json_value) if found else " at [line:1, column:1]"  # type: ignore[arg-type]
    headers = {"WWW-Authenticate": "Token"} if err.status == 401 else None
    return sf_json([err.rest()], err.status, headers)


def _position(body: bytes, value: Any) -> str:
    """Jackson-style ` at [line:L, column:C]` for where `value` sits in the raw JSON body."""
    text = body.decode("utf-8", "replace")
    needle = json.dumps(value, ensure_ascii=False)
    at = text.find(needle)
    if at < 0:
        return " at [line:1, column:1]"
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + len(needle) + 1
    return f" at [line:{line}, column:{column}]"


def json_body() -> Any:
    """Parse the request body as JSON, raising Salesforce's JSON_PARSER_ERROR when it is not."""
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw.decode("utf-8") or "null")
    except (ValueError, UnicodeDecodeError) as exc:
        line, col = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        raise SfError("JSON_PARSER_ERROR", f"Unexpected character: was expecting a valid JSON value at "
                      f"[line:{line}, column:{col}]") from None


def current_org() -> Org:
    org = getattr(g, "org", None)
    if org is None:
        raise not_found()
    return org


def current_session() -> Session:
    s = getattr(g, "session", None)
    if s is None:
        raise invalid_session()
    return s


def bearer_token() -> str | None:
    auth = request.headers.get("Authorization", "")
    for scheme in ("Bearer ", "OAuth "):
        if auth[: len(scheme)].lower() == scheme.lower():
            return auth[len(scheme):].strip()
    return request.headers.get("X-SFDC-Session") or None


def authenticate(token: str | None) -> tuple[Org, Session]:
    """Find the org and live session for `token` on this listener, or raise INVALID_SESSION_ID (401)."""
    if not token:
        raise invalid_session()
    org = getattr(g, "org", None) or server().org_for_token(token)
    session = org.sessions.check(token) if org is not None else None
    if org is None or session is None:
        raise invalid_session()
    g.org, g.session = org, session
    return org, session


def api_version() -> str:
    """The vXX.X of the current /services/data/vXX.X/ URL (as '66.0')."""
    return g.get("api_version", f"{MAX_VERSION}.0")


def base_path() -> str:
    return f"/services/data/v{api_version()}"
