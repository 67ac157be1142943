"""RQ tasks. Arguments are ids only: never credentials, tokens or row data."""

from __future__ import annotations

import logging
from functools import cache

from flask import Flask

log = logging.getLogger(__name__)


@cache
def app() -> Flask:
    """One app per worker process, built from the environment like the web process."""
    from backend import create_app

    return create_app()


def purge_expired() -> int:
    from backend.web.context import get_blob_store

    with app().app_context():
        count = get_blob_store().purge_expired()
    log.info("purged %d expired blob(s)", count)
    return count
