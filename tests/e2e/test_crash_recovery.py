"""A worker killed with SIGKILL mid-run; a new worker finishes the run without duplicates, with right counts.

Real processes: `python -m worker` (RQ worker, its work horse and the cron child) against localorg over
HTTPS, SQLite/PostgreSQL and Redis. The first worker and all its children are killed at once, as on a lost
machine (RQ's work horse has its own session, so each is killed by pid); its run lock expires, the new
worker's maintenance sweep re-enqueues the run, and the runner resumes from the journal in the Run row.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from simple_salesforce import Salesforce

from backend.extensions import db
from backend.models import Run
from backend.models.base import TenantScope
from backend.runs import service
from backend.runs.parts import BOM
from backend.web.context import get_blob_store
from sfdx.localorg.pytest_plugin import localorg, make_org, sf_session  # noqa: F401
from tests.runs.factories import CLIENT_ID, CLIENT_SECRET, account, connect, csv_job, legacy_id_tree

ROOT = Path(__file__).resolve().parents[2]
ROWS = 4000
WAIT_SECONDS = 180  # a generous bound on waiting, not an assertion about speed


@pytest.fixture
def app_config(app_config: dict) -> dict:
    return {**app_config, "salesforce_client_id": CLIENT_ID, "salesforce_client_secret": CLIENT_SECRET,
            "egress_allow_loopback": True}


def _csv(n: int) -> bytes:
    lines = ["Legacy Id,First Name,Last Name,Email"]
    lines += [f"L{i:06d},Ann{i},Lee{i},ann{i}@example.com" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def _start_worker(app, app_config: dict, localorg_server) -> subprocess.Popen:  # noqa: F811
    env = {**os.environ, "INFLOW_ENV": "test", "DATABASE_URL": app_config["database_url"],
           "REDIS_URL": app_config["redis_url"], "INFLOW_KEYS": app.extensions["inflow.keyring"].to_json(),
           "INFLOW_INSTANCE_PATH": str(app_config["instance_path"]), "SALESFORCE_CLIENT_ID": CLIENT_ID,
           "SALESFORCE_CLIENT_SECRET": CLIENT_SECRET, "INFLOW_EGRESS_ALLOW_LOOPBACK": "1",
           "REQUESTS_CA_BUNDLE": str(localorg_server.ca_bundle)}
    return subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _wait(condition, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline or proc.poll() is not None:
            out = _stop(proc)
            pytest.fail(f"gave up waiting for {what}; worker output:\n{out[-4000:]}")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        return proc.communicate(timeout=30)[0] or ""
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()[0] or ""


def _kill_tree(pid: int) -> None:
    """SIGKILL the worker and every process under it at once (RQ's work horse runs in its own session)."""
    victims = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for proc in victims:
        proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(victims, timeout=30)


def _fresh_run(run_id: str) -> Run:
    db.session.rollback()
    return db.session.get(Run, run_id)


def test_a_killed_worker_s_run_is_finished_by_the_next_worker(app, app_config, make_org, localorg,  # noqa: F811
                                                               sf_session, tmp_path):  # noqa: F811
    org = make_org(source_dir=legacy_id_tree(tmp_path))
    acct = account()
    conn = connect(acct, org)
    mapping = {"object": "Contact", "operation": "upsert", "match_key": "Legacy_Id__c", "fields": [
        {"field": "Legacy_Id__c", "column": "Legacy Id"}, {"field": "FirstName", "column": "First Name"},
        {"field": "LastName", "column": "Last Name"}, {"field": "Email", "column": "Email"}]}
    job = csv_job(acct, conn, _csv(ROWS), mapping, api="rest")
    org.knobs.latency_ms = 1500  # every call slow enough that the run is surely mid-way when killed
    run = service.start_run(TenantScope(acct.id), job.id)

    first = _start_worker(app, app_config, localorg)
    journaled = lambda: len((_fresh_run(run.id).checkpoint or {}).get("rest/000000") or {}) >= 3  # noqa: E731
    _wait(journaled, "the first worker to write part of the run", first)
    _kill_tree(first.pid)
    first.communicate(timeout=30)
    killed = _fresh_run(run.id)
    assert killed.state == "running"
    journaled_calls = len(killed.checkpoint["rest/000000"])

    org.knobs.latency_ms = 0
    second = _start_worker(app, app_config, localorg)
    try:
        _wait(lambda: _fresh_run(run.id).finished, "the second worker to finish the run", second)
    finally:
        output = _stop(second)
    run = _fresh_run(run.id)
    assert (run.state, run.rows_read, run.rows_succeeded, run.rows_failed) == ("succeeded", ROWS, ROWS, 0), output

    data = get_blob_store().read_all(acct.id, run.success_blob_id)
    rows = list(csv.DictReader(io.StringIO(data.removeprefix(BOM).decode())))
    assert sorted(r["Legacy Id"] for r in rows) == [f"L{i:06d}" for i in range(ROWS)]
    # Calls the first worker journaled are not sent again: their rows keep the "created" it recorded. Rows it
    # sent without journaling come back from the second worker's upsert as updates of what it had created.
    assert sum(r["sf__Created"] == "true" for r in rows) >= journaled_calls * 200
    assert get_blob_store().read_all(acct.id, run.error_blob_id).removeprefix(BOM).count(b"\n") == 1

    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    in_org = sf.query_all("SELECT Id, Legacy_Id__c FROM Contact")["records"]
    assert len(in_org) == ROWS
    assert sorted(r["Legacy_Id__c"] for r in in_org) == [f"L{i:06d}" for i in range(ROWS)]
    assert sorted(r["sf__Id"] for r in rows) == sorted(r["Id"] for r in in_org)
