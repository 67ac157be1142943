"""Inflow's web app: create_app() builds it from settings (the environment, or a test's overrides).

The factory's libraries (Flask, SQLAlchemy, alembic, the web package) are imported inside create_app():
every `import backend.<anything>` runs this file first, and the engine (a worker, the export CLI's engine, a
benchmark child) must not pay ~150 MB of RSS for a web app it never builds.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

# numpy's OpenBLAS starts a thread per core that spins after each call (numpy's import makes one); Inflow does
# no linear algebra, so before numpy loads: one thread (pipeline: about 6 % less user CPU; docs/benchmarks.md).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from backend.settings import ROOT, Settings  # noqa: E402  # after the setting above, which must come first

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict[str, Any] | Settings | None = None, *, web: bool = True) -> Flask:
    """The app from settings; `web=False` is a worker's: database, services and models only.

    A worker never serves a page, runs a CLI command or a migration, so it loads neither the blueprints, the
    CLI nor Flask-Migrate and Alembic (with the connectors and Stripe they import: about 50 MB of RSS less).
    """
    from flask import Flask

    from backend import services
    from backend.extensions import db
    from backend.logs import configure_logging
    from backend.storage.blobs import BlobStore

    settings = _settings(config)
    _listen_for_sqlite()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    configure_logging()
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,  # answered 413 by backend/web/uploads.py
        TESTING=settings.env == "test",
    )
    services.install(app, settings, _keyring(settings), BlobStore)
    db.init_app(app)
    from backend import models  # noqa: F401 - registers the tables

    if web:
        from flask_migrate import Migrate

        from backend.cli import register_cli
        from backend.web import register_blueprints
        from backend.web.uploads import InflowRequest

        app.request_class = InflowRequest
        Migrate(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
        register_blueprints(app)
        register_cli(app)
    return app


def _settings(config: dict[str, Any] | Settings | None) -> Settings:
    if isinstance(config, Settings):
        config.check()
        return config
    base = Settings.from_env(check=False)  # overrides (tests) may change what the check must see
    settings = dataclasses.replace(base, **config) if config else base
    settings.check()
    return settings


def _keyring(settings: Settings):
    from backend.security.crypto import load_keyring

    dev_file = None if settings.is_production else settings.instance_path / "keys.json"
    return load_keyring(settings.keys, settings.key_file, dev_file)


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Web, worker and blob-chunk writes share one file: wait for locks instead of failing.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


def _listen_for_sqlite() -> None:
    """SQLite connections of every engine (the app's and any a worker makes) get WAL and foreign keys."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        # Blobs (uploads, result files) are stored in 1 MiB chunks: 64 KiB pages read and write them with a
        # sixteenth of the system calls of 4 KiB ones (a 1,000,000-row import: about 0.9 s less system CPU).
        # SQLite takes it only for a new file, before WAL mode: an existing database keeps its page size.
        cursor.execute("PRAGMA page_size=65536")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
