"""Faults in the middle of real imports (issue 21): workers as real processes (`python -m worker`), localorg
over HTTPS, SQLite/PostgreSQL and a real Redis. Marked `faults`: `.venv/bin/pytest -m faults` runs them alone.

- a worker killed with SIGKILL while its Bulk job is open and uploading, or while it downloads the job's
  results: the next worker finishes the run and every row is in the org exactly once;
- Redis stopped and started again in the middle of a run: the run finishes, nothing stays "running";
- Salesforce hanging (calls time out, INFLOW_SALESFORCE_TIMEOUT_SECONDS) and then answering 503, a minute in all,
  in the middle of a Bulk job: the run waits, retries on its own schedule and finishes;
- PostgreSQL stopped for 10 s while the web app serves and a worker runs: the web answers 503 (no stack trace),
  both recover without a restart and the run finishes with every row once.
A blob store refusing writes: tests/runs/test_result_store_failure.py; a worker killed once results are written:
tests/e2e/test_kill_results_written.py (both also marked `faults`).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade
from simple_salesforce import Salesforce
from sqlalchemy import select

from backend import create_app
from backend.extensions import db
from backend.models import Run
from backend.models.base import TenantScope
from backend.runs import service
from sfdx.localorg.bulk_worker import bulk_state
from sfdx.localorg.pytest_plugin import localorg, make_org, sf_session  # noqa: F401
from tests.conftest import DRILL_DATABASES
from tests.e2e.test_crash_recovery import (
    INSERT_CONTACTS,
    _csv,
    _fresh_run,
    _journaled_calls,
    _kill_mid_run_then_recover,
    _start_worker,
    _stop,
    _success_rows,
    _wait,
)
from tests.runs.factories import CLIENT_ID, CLIENT_SECRET, account, connect, csv_job
from tests.stores import ThrowawayPostgres, ThrowawayRedis

pytestmark = pytest.mark.faults  # `pytest -m faults` runs the fault drills alone
once = pytest.mark.parametrize("database_url", DRILL_DATABASES, indirect=True)  # see tests/conftest.py
BULK_ROWS = 20_000
REST_ROWS = 4000


def _emails_in(org, sf_session) -> list[str]:  # noqa: F811
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    return [r["Email"] for r in sf.query_all("SELECT Email FROM Contact")["records"]]


def _assert_every_row_once(org, sf_session, acct_id: str, run: Run, rows: int, output: str) -> None:  # noqa: F811
    assert (run.state, run.rows_read, run.rows_succeeded, run.rows_failed) == ("succeeded", rows, rows, 0), output
    emails = _emails_in(org, sf_session)
    assert len(emails) == rows and sorted(emails) == sorted(f"ann{i}@example.com" for i in range(rows))
    assert len(_success_rows(acct_id, run)) == rows  # and the success file lists each one once


def _bulk_run(make_org, rows: int = BULK_ROWS, latency_ms: int = 1500):  # noqa: F811
    org = make_org()
    acct = account()
    job = csv_job(acct, connect(acct, org), _csv(rows), INSERT_CONTACTS, api="bulk2")
    org.knobs.latency_ms = latency_ms
    return org, acct, service.start_run(TenantScope(acct.id), job.id).run


@once
def test_kill_9_while_the_bulk_results_are_downloaded(app, app_config, make_org, localorg,  # noqa: F811
                                                       sf_session):  # noqa: F811
    org, acct, run = _bulk_run(make_org)

    def downloading_results(r: Run) -> bool:
        """Salesforce finished the job; the worker is fetching its results (each GET takes 1.5 s) and has
        written none of them yet."""
        jobs = list(bulk_state(org).jobs.values())
        done = jobs and all(j.state == "JobComplete" for j in jobs)
        return bool(done) and not any(k.startswith("chunk/") for k in (r.checkpoint or {}))

    _journal, run, output = _kill_mid_run_then_recover(app, app_config, localorg, org, run.id, downloading_results)
    assert len(bulk_state(org).jobs) == 1  # the next worker took the job's results; it did not upload again
    _assert_every_row_once(org, sf_session, acct.id, run, BULK_ROWS, output)


@once
def test_kill_9_while_the_bulk_job_is_open_and_uploading(app, app_config, make_org, localorg,  # noqa: F811
                                                         sf_session):  # noqa: F811
    org, acct, run = _bulk_run(make_org)

    def uploading(r: Run) -> bool:
        """The job is created and journaled as open; its data is not uploaded yet (the PUT takes 1.5 s)."""
        journal = r.checkpoint or {}
        return bool(journal.get("bulk2/open")) and not any(k.startswith("bulk2/job/") for k in journal)

    _journal, run, output = _kill_mid_run_then_recover(app, app_config, localorg, org, run.id, uploading)
    _assert_every_row_once(org, sf_session, acct.id, run, BULK_ROWS, output)


OUTAGE_SECONDS = 60
CALL_TIMEOUT_SECONDS = "2"  # the workers' INFLOW_SALESFORCE_TIMEOUT_SECONDS: a hung call is given up quickly


def _pause_reason(acct_id: str, run_id: str) -> str:
    waiting = service.progress(TenantScope(acct_id), run_id)
    return waiting["pause_reason"] if waiting["phase"] == "paused" and waiting["paused_until"] else ""


@once
def test_salesforce_hangs_then_answers_503_for_a_minute_mid_bulk_job_the_run_waits_retries_and_finishes(
        app, app_config, make_org, localorg, sf_session, monkeypatch):  # noqa: F811
    """An outage of a minute in the middle of a Bulk job: first Salesforce hangs (calls time out, the upload
    among them), then it answers 503. The run waits, retries on its own schedule and finishes, every row once."""
    monkeypatch.setenv("INFLOW_SALESFORCE_TIMEOUT_SECONDS", CALL_TIMEOUT_SECONDS)  # read by the worker process
    org, acct, run = _bulk_run(make_org, latency_ms=500)
    worker = _start_worker(app, app_config, localorg)
    try:
        _wait(lambda: bool(bulk_state(org).jobs), "the Bulk job to be open", worker)
        began = time.monotonic()
        org.knobs.hang_seconds = 3 * OUTAGE_SECONDS  # every call hangs: the worker's calls time out
        _wait(lambda: _pause_reason(acct.id, run.id).startswith("Retry 1 of 5: Salesforce could not be reached"),
              "the run to wait after its calls timed out", worker)
        org.knobs.unavailable = 503  # the same outage, now answering at once: 503 SERVER_UNAVAILABLE
        org.knobs.hang_seconds = 0
        _wait(lambda: _pause_reason(acct.id, run.id).startswith("Retry 2 of 5: Salesforce failed (503)"),
              "the run to wait again after its retry met the 503s", worker)
        assert _fresh_run(run.id).state == "running"
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - began)))  # the outage lasts its minute
        org.knobs.unavailable = 0
        org.knobs.latency_ms = 0
        _wait(lambda: _fresh_run(run.id).finished, "the run to finish after the outage", worker)
    finally:
        org.knobs.unavailable, org.knobs.hang_seconds = 0, 0
        output = _stop(worker)
    _assert_every_row_once(org, sf_session, acct.id, _fresh_run(run.id), BULK_ROWS, output)


@pytest.fixture
def restartable_redis(tmp_path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    server.close()


@once
def test_redis_restarted_mid_run_the_run_finishes_and_none_stays_running(app, app_config, make_org,  # noqa: F811
                                                                           localorg, sf_session,  # noqa: F811
                                                                           restartable_redis):
    org = make_org()
    acct = account()
    job = csv_job(acct, connect(acct, org), _csv(REST_ROWS), INSERT_CONTACTS, api="rest")
    org.knobs.latency_ms = 1200  # every call slow, so the run is surely mid-way when Redis goes
    run = service.start_run(TenantScope(acct.id), job.id).run
    worker = _start_worker(app, app_config, localorg)
    try:
        _wait(lambda: len(_journaled_calls(_fresh_run(run.id).checkpoint or {})) >= 3, "the run to be mid-way",
              worker)
        restartable_redis.stop()
        time.sleep(3)  # Redis is away for a while, as during a restart of its machine
        restartable_redis.start()
        org.knobs.latency_ms = 0
        _wait(lambda: _fresh_run(run.id).finished, "the run to finish", worker)
    finally:
        output = _stop(worker)
    _assert_every_row_once(org, sf_session, acct.id, _fresh_run(run.id), REST_ROWS, output)
    db.session.rollback()
    active = select(Run.id).where(Run.state.in_(("running", "cancelling", "rolling_back")))
    assert db.session.scalars(active).all() == []


@pytest.fixture
def app_config(app_config: dict, request) -> dict:
    """Settings for workers as processes; the Redis test's Redis is one it may stop and start."""
    config = {**app_config, "salesforce_client_id": CLIENT_ID, "salesforce_client_secret": CLIENT_SECRET,
              "egress_allow_loopback": True}
    if "restartable_redis" in request.fixturenames:
        config["redis_url"] = request.getfixturevalue("restartable_redis").url
    return config


@pytest.fixture
def stoppable_postgres() -> Iterator[ThrowawayPostgres]:
    workdir = Path(tempfile.mkdtemp(prefix="inflow-faults-"))  # not under pytest's 0700 tree: postgres reads it
    server = ThrowawayPostgres(workdir)
    server.start()
    yield server
    server.close()
    shutil.rmtree(workdir, ignore_errors=True)


def test_postgres_stopped_for_10_s_web_answers_503_and_web_and_worker_recover(redis_url, stoppable_postgres,
                                                                                make_org, localorg,  # noqa: F811
                                                                                sf_session, tmp_path):  # noqa: F811
    config = {"env": "test", "database_url": stoppable_postgres.url, "redis_url": redis_url,
              "instance_path": tmp_path / "instance", "salesforce_client_id": CLIENT_ID,
              "salesforce_client_secret": CLIENT_SECRET, "egress_allow_loopback": True}
    app = create_app(config)
    with app.app_context():
        upgrade()
        web = app.test_client()

        def healthz():  # a context of its own, as each request of the server has (and its session with it)
            with app.app_context():
                return web.get("/healthz")
        org = make_org()
        acct = account()
        job = csv_job(acct, connect(acct, org), _csv(REST_ROWS), INSERT_CONTACTS, api="rest")
        org.knobs.latency_ms = 1200
        run = service.start_run(TenantScope(acct.id), job.id).run
        acct_id, run_id = acct.id, run.id
        worker = _start_worker(app, config, localorg)
        try:
            _wait(lambda: len(_journaled_calls(_fresh_run(run_id).checkpoint or {})) >= 3, "the run to be mid-way",
                  worker)
            stoppable_postgres.stop()
            down = healthz()
            assert down.status_code == 503 and "Traceback" not in down.get_data(as_text=True)
            time.sleep(10)
            stoppable_postgres.start()
            org.knobs.latency_ms = 0
            db.session().invalidate()  # the test's own session held a connection the outage cut: drop it unrolled
            db.session.remove()
            assert healthz().status_code == 200  # the same web process, no restart
            _wait(lambda: _fresh_run(run_id).finished, "the run to finish after the outage", worker)
        finally:
            output = _stop(worker)
        _assert_every_row_once(org, sf_session, acct_id, _fresh_run(run_id), REST_ROWS, output)
        db.session.remove()
        db.engine.dispose()
