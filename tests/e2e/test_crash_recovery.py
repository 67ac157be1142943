"""A worker killed with SIGKILL mid-run; a new worker finishes the run without duplicates, with right counts.

Real processes: `python -m worker` (RQ worker, its work horse and the cron child) against localorg over
HTTPS, SQLite/PostgreSQL and Redis. The first worker and all its children are killed at once, as on a lost
machine (RQ's work horse has its own session, so each is killed by pid); its run lease (in SQL) expires, the new
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
from backend.services import get_blob_store
from sfdx.localorg.pytest_plugin import localorg, make_org, sf_session  # noqa: F401
from tests.runs.factories import CLIENT_ID, CLIENT_SECRET, account, connect, csv_job, legacy_id_tree

pytestmark = pytest.mark.faults  # `pytest -m faults` runs the fault drills alone
ROOT = Path(__file__).resolve().parents[2]
ROWS = 4000
BULK_ROWS = 30_000
WAIT_SECONDS = 180  # a generous bound on waiting, not an assertion about speed
INSERT_CONTACTS = {"object": "Contact", "operation": "insert", "fields": [
    {"field": "FirstName", "column": "First Name"}, {"field": "LastName", "column": "Last Name"},
    {"field": "Email", "column": "Email"}]}


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


def _kill_mid_run_then_recover(app, app_config, localorg_server, org, run_id: str,
                               mid_run) -> tuple[dict, Run, str]:
    """Start a worker, SIGKILL it (and its children) once `mid_run(run)` holds, start another one and wait
    until it has finished the run. Returns the journal the dead worker left, the finished run, the output."""
    first = _start_worker(app, app_config, localorg_server)
    _wait(lambda: mid_run(_fresh_run(run_id)), "the first worker to be mid-run", first)
    _kill_tree(first.pid)
    first.communicate(timeout=30)
    killed = _fresh_run(run_id)
    checkpoint = dict(killed.checkpoint or {})
    assert killed.state == "running"
    org.knobs.latency_ms = 0
    second = _start_worker(app, app_config, localorg_server)
    try:
        _wait(lambda: _fresh_run(run_id).finished, "the second worker to finish the run", second)
    finally:
        output = _stop(second)
    return checkpoint, _fresh_run(run_id), output


def _success_rows(acct_id: str, run: Run) -> list[dict[str, str]]:
    data = get_blob_store().read_all(acct_id, run.success_blob_id)
    assert get_blob_store().read_all(acct_id, run.error_blob_id).removeprefix(BOM).count(b"\n") == 1  # header only
    return list(csv.DictReader(io.StringIO(data.removeprefix(BOM).decode())))


def test_a_killed_worker_s_rest_upsert_is_finished_by_the_next_worker(app, app_config, make_org,  # noqa: F811
                                                                       localorg, sf_session, tmp_path):  # noqa: F811
    org = make_org(source_dir=legacy_id_tree(tmp_path))
    acct = account()
    mapping = {"object": "Contact", "operation": "upsert", "match_key": "Legacy_Id__c", "fields": [
        {"field": "Legacy_Id__c", "column": "Legacy Id"}, {"field": "FirstName", "column": "First Name"},
        {"field": "LastName", "column": "Last Name"}, {"field": "Email", "column": "Email"}]}
    job = csv_job(acct, connect(acct, org), _csv(ROWS), mapping, api="rest")
    org.knobs.latency_ms = 1500  # every call slow enough that the run is surely mid-way when killed
    run = service.start_run(TenantScope(acct.id), job.id).run

    journal, run, output = _kill_mid_run_then_recover(app, app_config, localorg, org, run.id, _some_calls_journaled)
    assert (run.state, run.rows_read, run.rows_succeeded, run.rows_failed) == ("succeeded", ROWS, ROWS, 0), output
    rows = _success_rows(acct.id, run)
    assert sorted(r["Legacy Id"] for r in rows) == [f"L{i:06d}" for i in range(ROWS)]
    # Calls the first worker journaled are not sent again: their rows keep the "created" it recorded. Rows it
    # sent without journaling come back from the second worker's upsert as updates of what it had created.
    assert sum(r["sf__Created"] == "true" for r in rows) >= len(_journaled_calls(journal)) * 200

    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    in_org = sf.query_all("SELECT Id, Legacy_Id__c FROM Contact")["records"]
    assert sorted(r["Legacy_Id__c"] for r in in_org) == [f"L{i:06d}" for i in range(ROWS)]
    assert sorted(r["sf__Id"] for r in rows) == sorted(r["Id"] for r in in_org)


def _journaled_calls(journal: dict) -> list[str]:
    return [k for k in journal.get("rest/000000") or {} if k.isdigit()]


def _some_calls_journaled(r: Run) -> bool:
    return len(_journaled_calls(r.checkpoint or {})) >= 3


def test_a_killed_worker_s_rest_insert_calls_on_the_wire_are_not_inserted_twice(app, app_config,  # noqa: F811
                                                                                 make_org, localorg,  # noqa: F811
                                                                                 sf_session):  # noqa: F811
    org = make_org()
    acct = account()
    mapping = INSERT_CONTACTS
    job = csv_job(acct, connect(acct, org), _csv(ROWS), mapping, api="rest")
    # Every call waits 1.5 s inside localorg before it writes: the worker dies with four calls on the wire,
    # which localorg still carries out. Nobody recorded their results; the next worker must find them.
    org.knobs.latency_ms = 1500
    run = service.start_run(TenantScope(acct.id), job.id).run
    journal, run, output = _kill_mid_run_then_recover(app, app_config, localorg, org, run.id, _some_calls_journaled)
    assert journal["rest/000000"].get("sent")  # the dead worker's calls on the wire, marked before they left
    assert (run.state, run.rows_read, run.rows_succeeded, run.rows_failed) == ("succeeded", ROWS, ROWS, 0), output
    rows = _success_rows(acct.id, run)
    assert sorted(r["Email"] for r in rows) == sorted(f"ann{i}@example.com" for i in range(ROWS))
    assert all(r["sf__Created"] == "true" for r in rows)
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    in_org = sf.query_all("SELECT Id, Email FROM Contact")["records"]
    assert sorted(r["Email"] for r in in_org) == sorted(f"ann{i}@example.com" for i in range(ROWS))  # once each
    assert sorted(r["sf__Id"] for r in rows) == sorted(r["Id"] for r in in_org)


def test_a_killed_worker_s_bulk_insert_is_finished_without_duplicates(app, app_config, make_org,  # noqa: F811
                                                                       localorg, sf_session):  # noqa: F811
    org = make_org()
    acct = account()
    rows_in = BULK_ROWS
    mapping = INSERT_CONTACTS
    job = csv_job(acct, connect(acct, org), _csv(rows_in), mapping, api="bulk2")
    org.knobs.latency_ms = 1500
    run = service.start_run(TenantScope(acct.id), job.id).run

    def uploaded(r: Run) -> bool:  # the Bulk job holds the rows; Salesforce goes on without the worker
        return any(k.startswith("bulk2/job/") for k in (r.checkpoint or {}))

    _killed, run, output = _kill_mid_run_then_recover(app, app_config, localorg, org, run.id, uploaded)
    assert (run.state, run.rows_read, run.rows_succeeded, run.rows_failed) == (
        "succeeded", rows_in, rows_in, 0), output
    rows = _success_rows(acct.id, run)
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    in_org = sf.query_all("SELECT Id, Email FROM Contact")["records"]
    assert len(in_org) == rows_in  # the resumed run waited for the job; it did not insert again
    assert sorted(r["Email"] for r in in_org) == sorted(f"ann{i}@example.com" for i in range(rows_in))
    assert sorted(r["sf__Id"] for r in rows) == sorted(r["Id"] for r in in_org)
