"""Fixtures for run orchestration tests: localorg, an app that trusts it, and a connected org."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from backend.extensions import db
from sfdx.localorg.pytest_plugin import localorg, make_org, org, sf, sf_session  # noqa: F401
from tests.runs.factories import CLIENT_ID, CLIENT_SECRET


@pytest.fixture
def app_config(app_config: dict) -> dict:
    return {**app_config, "salesforce_client_id": CLIENT_ID, "salesforce_client_secret": CLIENT_SECRET,
            "egress_allow_loopback": True}


def refuse_chunks_of(name_pattern: str) -> None:
    """From now on the database refuses every chunk of a blob whose name is LIKE `name_pattern`."""
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "sqlite":
            conn.execute(text(
                "CREATE TRIGGER store_full BEFORE INSERT ON blob_chunks WHEN (SELECT name FROM blobs WHERE "
                f"id = NEW.blob_id) LIKE '{name_pattern}' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"))
        else:
            conn.execute(text(
                "CREATE FUNCTION store_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF (SELECT name FROM "
                f"blobs WHERE id = NEW.blob_id) LIKE '{name_pattern}' THEN RAISE EXCEPTION 'could not extend file: "
                "No space left on device'; END IF; RETURN NEW; END $$"))
            conn.execute(text("CREATE TRIGGER store_full BEFORE INSERT ON blob_chunks FOR EACH ROW "
                              "EXECUTE FUNCTION store_full()"))


@pytest.fixture
def failing_store(app):
    yield refuse_chunks_of
    with db.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS store_full" + ("" if db.engine.dialect.name == "sqlite"
                                                                 else " ON blob_chunks")))
        if db.engine.dialect.name != "sqlite":
            conn.execute(text("DROP FUNCTION IF EXISTS store_full()"))
