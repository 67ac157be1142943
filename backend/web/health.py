"""/healthz: is the database reachable, is Redis reachable."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from backend.extensions import db
from backend.services import get_redis, get_settings

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    checks = {"database": _check(lambda: db.session.execute(text("SELECT 1"))),
              "redis": _check(lambda: get_redis().ping())}
    ok = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ok else "unavailable", "region": get_settings().region, **checks}
    return jsonify(body), 200 if ok else 503


def _check(probe) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - health reports any failure by its type, never its details
        return f"unreachable ({type(exc).__name__})"
