"""Migrations upgrade and downgrade cleanly on every database backend."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from backend import create_app
from backend.extensions import db
from tests.conftest import BACKENDS, make_database

TABLES = {"accounts", "users", "org_connections", "connections", "jobs", "runs", "blobs", "blob_chunks",
          "audit_events"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_then_downgrade_then_upgrade(backend, tmp_path):
    url, drop = make_database(backend, tmp_path)
    try:
        app = create_app({"env": "test", "database_url": url, "instance_path": tmp_path / "i"})
        with app.app_context():
            upgrade()
            assert TABLES <= set(inspect(db.engine).get_table_names())
            downgrade(revision="base")
            assert not TABLES & set(inspect(db.engine).get_table_names())
            upgrade()
            assert TABLES <= set(inspect(db.engine).get_table_names())
            db.engine.dispose()
    finally:
        drop()


def test_models_match_the_migrations(app):
    """A model change without a migration would make production differ from tests."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
