"""Per-app services reached from views, the CLI and worker tasks: settings, keyring, Redis, blobs."""

from __future__ import annotations

import redis
from flask import current_app

from backend.queues import connect, embedded_redis_url
from backend.security.crypto import Keyring
from backend.settings import Settings
from backend.storage.blobs import BlobStore


def get_settings() -> Settings:
    return current_app.extensions["inflow.settings"]


def get_keyring() -> Keyring:
    return current_app.extensions["inflow.keyring"]


def get_redis() -> redis.Redis:
    conn = current_app.extensions.get("inflow.redis")
    if conn is None:
        settings = get_settings()
        url = settings.redis_url or embedded_redis_url(settings.instance_path)
        conn = current_app.extensions["inflow.redis"] = connect(url)
    return conn


def get_blob_store() -> BlobStore:
    return BlobStore(get_keyring())
