"""Service handles of the running app (settings, keyring, Redis, blob store) for web, runs, worker and CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import redis
from flask import Flask, current_app

from backend.queues import connect, embedded_redis_url
from backend.settings import Settings

if TYPE_CHECKING:
    # Types only: this module sits on the ground floor, so the app factory hands the keyring and the
    # blob store's class in (install) instead of this module importing security or storage.
    from backend.security.crypto import Keyring
    from backend.storage.blobs import BlobStore


def install(app: Flask, settings: Settings, keyring: Keyring, blob_store: Callable[[Keyring], BlobStore]) -> None:
    """Called once by the app factory: what the getters below hand out."""
    app.extensions["inflow.settings"] = settings
    app.extensions["inflow.keyring"] = keyring
    app.extensions["inflow.blob_store"] = blob_store


def get_settings() -> Settings:
    return current_app.extensions["inflow.settings"]


def get_keyring() -> Keyring:
    return current_app.extensions["inflow.keyring"]


def set_keyring(keyring: Keyring) -> None:
    """`keys rotate`: later get_keyring() and get_blob_store() calls use the new keyring."""
    current_app.extensions["inflow.keyring"] = keyring


def get_redis() -> redis.Redis:
    conn = current_app.extensions.get("inflow.redis")
    if conn is None:
        settings = get_settings()
        url = settings.redis_url or embedded_redis_url(settings.instance_path)
        conn = current_app.extensions["inflow.redis"] = connect(url)
    return conn


def get_blob_store() -> BlobStore:
    # A new store per call, bound to the keyring of this moment (`keys rotate` swaps it).
    return current_app.extensions["inflow.blob_store"](get_keyring())
