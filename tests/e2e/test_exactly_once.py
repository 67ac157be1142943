"""Exactly once under Redis loss, stolen leases and double clicks (issue 14), with workers as real processes.

`python -m worker` processes against localorg over HTTPS, SQLite/PostgreSQL and a real Redis. A run's
owner is the SQL lease on its row, so a Redis that forgets everything never makes a running run look dead,
and a worker that loses the lease stops before its next write.
"""

from __future__ import annotations

import time

import pytest
from simple_salesforce import Salesforce
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.models import Run
from backend.models.base import TenantScope, utcnow
from backend.runs import service
from backend.services import get_redis
from sfdx.localorg.pytest_plugin import localorg, make_org, sf_session  # noqa: F401
from tests.e2e.test_crash_recovery import (
    INSERT_CONTACTS,
    _csv,
    _fresh_run,
    _journaled_calls,
    _start_worker,
    _stop,
    _wait,
    app_config,  # noqa: F401
)
from tests.runs.factories import account, connect, csv_job

pytestmark = pytest.mark.faults  # `pytest -m faults` runs the fault drills alone
ROWS = 6000


def _emails_in(org, sf_session) -> list[str]:  # noqa: F811
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    return [r["Email"] for r in sf.query_all("SELECT Email FROM Contact")["records"]]


def _start_slow_insert(make_org, rows: int = ROWS):  # noqa: F811
    org = make_org()
    acct = account()
    job = csv_job(acct, connect(acct, org), _csv(rows), INSERT_CONTACTS, api="rest")
    org.knobs.latency_ms = 1200  # every call slow, so the run is surely mid-way when things go wrong
    return org, acct, service.start_run(TenantScope(acct.id), job.id).run


def test_redis_flushed_mid_run_with_two_workers_writes_every_row_once(app, app_config, make_org,  # noqa: F811
                                                                     localorg, sf_session):  # noqa: F811
    org, _acct, run = _start_slow_insert(make_org)
    first = _start_worker(app, app_config, localorg)
    second = _start_worker(app, app_config, localorg)
    try:
        _wait(lambda: len(_journaled_calls(_fresh_run(run.id).checkpoint or {})) >= 3, "the run to be mid-way", first)
        conn = get_redis()
        conn.flushdb()  # Redis restarted empty: queues, RQ's bookkeeping, progress all gone
        conn.client_kill_filter(_type="normal", skipme=True)  # and every connection dropped, as on a restart
        assert service.recover_stale_runs() == []  # the sweep sees a live SQL lease: nothing re-enqueued
        _wait(lambda: _fresh_run(run.id).finished, "the run to finish", first)
    finally:
        output = _stop(first) + _stop(second)
    done = _fresh_run(run.id)
    assert (done.state, done.rows_read, done.rows_succeeded, done.rows_failed) == ("succeeded", ROWS, ROWS, 0), output
    emails = _emails_in(org, sf_session)
    assert len(emails) == ROWS and sorted(emails) == sorted(f"ann{i}@example.com" for i in range(ROWS))


def test_a_worker_whose_lease_was_taken_stops_before_its_next_write(app, app_config, make_org,  # noqa: F811
                                                                   localorg, sf_session):  # noqa: F811
    org, _acct, run = _start_slow_insert(make_org)
    worker = _start_worker(app, app_config, localorg)
    try:
        _wait(lambda: len(_journaled_calls(_fresh_run(run.id).checkpoint or {})) >= 3, "the run to be mid-way", worker)
        with db.engine.begin() as conn:  # another owner takes the run over (as after an expiry it would)
            conn.execute(update(Run).where(Run.id == run.id).values(
                lease_owner="t" * 32, lease_expires_at=utcnow().replace(year=2100)))
        stolen_at = dict(_fresh_run(run.id).checkpoint)
        time.sleep(12)  # past the old owner's heartbeat and at least one more call it would have sent
        in_org = len(_emails_in(org, sf_session))
        time.sleep(4)
        assert len(_emails_in(org, sf_session)) == in_org  # it stopped writing to Salesforce
        stopped = _fresh_run(run.id)
        assert stopped.state == "running" and stopped.lease_owner == "t" * 32  # it wrote nothing of its own
        assert stopped.checkpoint == stolen_at  # not even a journal entry
        assert in_org < ROWS

        with db.engine.begin() as conn:  # the new owner "dies": its lease expires, recovery hands the run on
            conn.execute(update(Run).where(Run.id == run.id).values(lease_expires_at=utcnow().replace(year=2000)))
        org.knobs.latency_ms = 0
        assert service.recover_stale_runs() == [run.id]
        _wait(lambda: _fresh_run(run.id).finished, "the run to finish", worker)
    finally:
        output = _stop(worker)
    done = _fresh_run(run.id)
    assert (done.state, done.rows_succeeded, done.rows_failed) == ("succeeded", ROWS, 0), output[-3000:]
    emails = _emails_in(org, sf_session)
    assert sorted(emails) == sorted(f"ann{i}@example.com" for i in range(ROWS))  # every row exactly once


def test_the_database_itself_refuses_a_second_active_run_of_one_job(app, make_org):  # noqa: F811
    # What makes two concurrent starts end on one run: not a check-then-insert in Python, but the unique
    # active_job_id, which refuses the loser's INSERT whatever the timing; start_run then returns the winner.
    org = make_org()
    acct = account()
    job = csv_job(acct, connect(acct, org), _csv(10), INSERT_CONTACTS, api="rest")
    first = service.start_run(TenantScope(acct.id), job.id)
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            conn.execute(insert(Run).values(id="f" * 32, account_id=acct.id, job_id=job.id, state="queued",
                                            active_job_id=job.id, checkpoint={}, created_at=utcnow()))
    again = service.start_run(TenantScope(acct.id), job.id)
    assert first.created and not again.created and again.run.id == first.run.id
    assert db.session.query(Run).filter(Run.job_id == job.id).count() == 1
