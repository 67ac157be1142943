"""While the database or Redis is unreachable: 503 with Retry-After; JSON for the API, a short page for people.

Nothing is cached across requests: the pool (`pool_pre_ping`) and the Redis client reconnect by themselves,
so the same process answers normally again as soon as the store is back, without a restart.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, Response, jsonify, make_response, render_template, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import InternalServerError

from backend.extensions import db

bp = Blueprint("outages", __name__)
log = logging.getLogger(__name__)

DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError)
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
RETRY_AFTER_SECONDS = 60
TITLE = "Inflow is briefly unavailable"
MESSAGE = "Inflow is briefly unavailable, try again in a minute."


def unavailable(error: Exception) -> Response:
    """The answer for any request cut short by an unreachable database or Redis."""
    store = "database" if isinstance(error, DATABASE_DOWN) else "Redis"
    # The type only: driver messages name hosts and ports, which belong in the store's own logs.
    log.warning("%s %s: %s unreachable (%s)", request.method, request.path, store, type(error).__name__)
    try:
        db.session.rollback()  # the session may hold a transaction on a dead connection
    except sa_exc.SQLAlchemyError:
        pass  # nothing to roll back on a connection that never came
    if request.path.startswith("/api/"):
        response = jsonify(error="unavailable", message=MESSAGE)
    else:
        response = make_response(render_template("canvas/error.html", title=TITLE, message=MESSAGE))
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def internal_error(error: InternalServerError) -> Response | InternalServerError:
    """A store failing where error handlers do not reach (an after-request hook) is still an outage."""
    if isinstance(error.original_exception, DATABASE_DOWN + REDIS_DOWN):
        return unavailable(error.original_exception)
    return error


for _kind in DATABASE_DOWN + REDIS_DOWN:
    bp.app_errorhandler(_kind)(unavailable)
bp.app_errorhandler(InternalServerError)(internal_error)
