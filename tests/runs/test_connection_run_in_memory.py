"""A whole run of a saved job reading a connection (a PostgreSQL table, a CSV file in S3) writes no byte of
external data to disk.

The run goes the way production runs it: the Run button's `service.start_run` puts the run id on the imports
queue and an RQ worker (in this process, so it can be watched) executes `worker.tasks.run_import` with the app
it builds from the environment. TMPDIR is read-only, and an audit hook (sys.addaudithook, "open") records every
file opened for writing. The app's database is PostgreSQL, so the encrypted blob store (uploads, result files)
lives there: any file written would be external data escaping to disk.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from flask_migrate import upgrade
from rq import Queue, SimpleWorker
from simple_salesforce import Salesforce
from sqlalchemy import create_engine, text

import worker.tasks
from backend import create_app
from backend.connectors import stored
from backend.extensions import db
from backend.models import Job, Run, TenantScope
from backend.runs import service
from backend.services import get_blob_store, get_redis
from tests.connectors import filestores, servers
from tests.runs.factories import CLIENT_ID, CLIENT_SECRET, FORCE_APP, account, connect

PG_SERVER = os.environ.get("INFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ROWS = [(f"Lee{i}", f"ann{i}@example.com") for i in range(250)]
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_watching: list[list[str]] = []  # an audit hook cannot be removed: it records only while a list is here


def _audit(event: str, args: tuple) -> None:
    if event != "open" or not _watching:
        return
    path, mode, flags = args
    writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & WRITE_FLAGS)
    if writes and path != os.devnull:
        _watching[-1].append(str(path))


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app's own database on PostgreSQL whatever INFLOW_TEST_DATABASES says (a SQLite file would be
    written by every commit, and would hide the writes this test looks for)."""
    name = f"inflow_test_mem_{os.urandom(5).hex()}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
    migrating = create_app({"env": "test", "database_url": url, "redis_url": "redis://unused",
                            "instance_path": tmp_path_factory.mktemp("migrate")})
    with migrating.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def pg() -> Iterator[dict]:
    with servers.postgres_database() as params:
        servers.add_contacts_table(params, ROWS)
        yield params


@pytest.fixture(scope="module")
def s3() -> Iterator[dict]:
    with filestores.moto_s3() as params:
        client = boto3.client("s3", endpoint_url=params["endpoint_url"], region_name=params["region"],
                              aws_access_key_id=params["access_key_id"],
                              aws_secret_access_key=params["secret_access_key"])
        body = "Last Name,Email\n" + "".join(f"{n},{e}\n" for n, e in ROWS)
        client.put_object(Bucket=params["bucket"], Key="exports/contacts.csv", Body=body.encode())
        yield params


@pytest.fixture
def worker_env(app, app_config, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment `python -m worker` gets (as in tests/browser/conftest.py), for worker.tasks.app()."""
    for key, value in {"INFLOW_ENV": "test", "DATABASE_URL": app_config["database_url"],
                       "REDIS_URL": app_config["redis_url"], "INFLOW_KEYS": app.extensions["inflow.keyring"].to_json(),
                       "INFLOW_INSTANCE_PATH": str(app_config["instance_path"]), "SALESFORCE_CLIENT_ID": CLIENT_ID,
                       "SALESFORCE_CLIENT_SECRET": CLIENT_SECRET, "INFLOW_EGRESS_ALLOW_LOOPBACK": "1"}.items():
        monkeypatch.setenv(key, value)
    worker.tasks.app.cache_clear()
    built = worker.tasks.app()  # built before watching: starting a process is not part of a run
    yield
    with built.app_context():
        db.engine.dispose()  # its pooled connections closed now, not warned about whenever the app is collected
    worker.tasks.app.cache_clear()


@pytest.fixture
def read_only_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    locked = tmp_path / "readonly"
    locked.mkdir()
    locked.chmod(0o500)
    monkeypatch.setenv("TMPDIR", str(locked))
    monkeypatch.setattr(tempfile, "tempdir", None)
    yield locked
    locked.chmod(0o700)


def _connection(scope: TenantScope, kind: str, request: pytest.FixtureRequest) -> tuple[str, dict]:
    if kind == "postgresql":
        row = stored.create(scope, "ERP", "postgresql", {**request.getfixturevalue("pg"), "tls": False})
        return row.id, {"table": "sales.contacts", "columns": ["Last Name", "Email"]}
    row = stored.create(scope, "Drop", "s3", request.getfixturevalue("s3"))
    return row.id, {"path": "exports/contacts*.csv"}


@pytest.mark.parametrize(("kind", "api"), [("postgresql", "rest"), ("postgresql", "bulk2"), ("s3", "bulk2")])
def test_a_connection_run_writes_nothing_to_disk(app, make_org, sf_session, worker_env, read_only_tmp, request,
                                                 kind, api):
    org = make_org(source_dir=FORCE_APP)
    acct = account()
    conn = connect(acct, org)
    scope = TenantScope(acct.id)
    connection_id, read = _connection(scope, kind, request)
    job = scope.add(Job(name="Contacts", org_connection_id=conn.id, object_name="Contact", operation="insert",
                        source={"type": "connection", "connection_id": connection_id, "read": read},
                        mapping={"object": "Contact", "operation": "insert", "api": api,
                                 "fields": [{"field": "LastName", "column": "Last Name"},
                                            {"field": "Email", "column": "Email"}]}))
    db.session.commit()
    run = service.start_run(scope, job.id).run

    if not _watching and not getattr(sys, "_inflow_audit_hooked", False):
        sys.addaudithook(_audit)
        sys._inflow_audit_hooked = True  # one hook per process, however many tests use it
    writes: list[str] = []
    _watching.append(writes)
    try:
        redis = get_redis()
        SimpleWorker([Queue("imports", connection=redis)], connection=redis).work(burst=True)
    finally:
        _watching.remove(writes)

    assert writes == []
    _watching.append(probe := [])  # the spy itself sees a write when there is one
    (read_only_tmp.parent / "probe.txt").write_text("x")
    _watching.remove(probe)
    assert probe == [str(read_only_tmp.parent / "probe.txt")]
    db.session.expire_all()
    run = db.session.get(Run, run.id)
    assert (run.state, run.rows_read, run.rows_succeeded, run.api) == ("succeeded", len(ROWS), len(ROWS), api)
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    emails = {r["Email"] for r in sf.query_all("SELECT Email FROM Contact")["records"]}
    assert emails == {email for _, email in ROWS}
    result = get_blob_store().read_all(acct.id, run.success_blob_id)  # the results went to the encrypted store
    assert b"ann249@example.com" in result and b"not for Salesforce" not in result  # a left-out column stays out
