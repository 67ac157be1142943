"""The web side of runs: create and enqueue once, cancel, progress, results and recovery of dead runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue

from backend.extensions import db
from backend.models import Run
from backend.models.base import NotFound, TenantScope, utcnow
from backend.models.runs import InvalidTransition
from backend.runs import progress as live
from backend.runs import service
from backend.runs.lease import RunLease
from backend.services import get_blob_store, get_redis
from tests.runs.factories import CONTACT_MAPPING, account, contacts_csv, csv_job


def _queued_ids() -> list[str]:
    return Queue("imports", connection=get_redis()).get_job_ids()


@pytest.mark.promise("external-data-in-memory")
def test_start_run_enqueues_the_run_id_only_and_a_second_enqueue_does_nothing(app):
    acct = account()
    job = csv_job(acct, None, contacts_csv(3), CONTACT_MAPPING)
    run = service.start_run(TenantScope(acct.id), job.id).run
    assert run.state == "queued"
    [job_id] = _queued_ids()
    rq_job = Queue("imports", connection=get_redis()).fetch_job(job_id)
    assert rq_job.func_name == "worker.tasks.run_import" and rq_job.args == (run.id,)
    assert service.enqueue(run.id) is False
    assert len(_queued_ids()) == 1


def test_a_run_held_by_a_worker_is_not_enqueued_again(app):
    acct = account()
    run = service.create_run(TenantScope(acct.id), csv_job(acct, None, contacts_csv(1), CONTACT_MAPPING).id).run
    lease = RunLease.acquire(run.id)
    assert RunLease.acquire(run.id) is None
    assert service.enqueue(run.id) is False and _queued_ids() == []
    lease.release()
    assert service.enqueue(run.id) is True


def test_cancel_a_queued_run_finishes_it_and_a_running_one_asks_it_to_stop(app):
    acct = account()
    scope = TenantScope(acct.id)
    job = csv_job(acct, None, contacts_csv(1), CONTACT_MAPPING)
    queued = service.start_run(scope, job.id).run
    assert service.cancel(scope, queued.id).state == "cancelled"

    running = service.create_run(scope, job.id).run
    running.transition("running")
    db.session.commit()
    lease = RunLease.acquire(running.id)
    assert service.cancel(scope, running.id).state == "cancelling"
    assert get_redis().exists(live.cancel_key(running.id))
    assert service.cancel(scope, running.id).state == "cancelling"  # asking twice is harmless
    lease.release()


def test_progress_is_live_from_redis_while_running_and_from_the_row_after(app):
    acct = account()
    scope = TenantScope(acct.id)
    run = service.create_run(scope, csv_job(acct, None, contacts_csv(1), CONTACT_MAPPING).id).run
    run.transition("running")
    db.session.commit()

    class P:
        phase, rows_read, succeeded, failed = "writing", 500, 480, 20

    reporter = live.ProgressReporter(get_redis(), run.id, total_rows=1000)
    reporter(P())
    got = service.progress(scope, run.id)
    assert (got["state"], got["phase"], got["rows_read"], got["succeeded"], got["failed"]) == (
        "running", "writing", 500, 480, 20)
    assert got["total_rows"] == 1000 and got["finished"] is False
    assert db.session.get(Run, run.id).rows_read == 500  # the first report also writes the row
    run.rows_read, run.rows_succeeded, run.rows_failed = 1000, 990, 10
    run.transition("partial")
    db.session.commit()
    got = service.progress(scope, run.id)
    assert (got["state"], got["rows_read"], got["failed"], got["finished"]) == ("partial", 1000, 10, True)


def test_another_account_cannot_see_cancel_or_download_a_run(app):
    owner, other = account("Owner"), account("Other")
    run = service.create_run(TenantScope(owner.id), csv_job(owner, None, contacts_csv(1), CONTACT_MAPPING).id).run
    blob = get_blob_store().put(owner.id, "result", b"x", expires_at=run.created_at.replace(year=2100))
    run.success_blob_id = blob.id
    db.session.commit()
    scope = TenantScope(other.id)
    for call in (lambda: service.progress(scope, run.id), lambda: service.cancel(scope, run.id),
                 lambda: service.result_file(scope, run.id, "success"), lambda: service.rollback(scope, run.id)):
        with pytest.raises(NotFound):
            call()
    blob_row, stream = service.result_file(TenantScope(owner.id), run.id, "success")
    assert stream.read() == b"x" and blob_row.id == blob.id
    with pytest.raises(NotFound):
        service.result_file(TenantScope(owner.id), run.id, "error")


def test_rollback_only_from_a_finished_import(app):
    acct = account()
    scope = TenantScope(acct.id)
    run = service.create_run(scope, csv_job(acct, None, contacts_csv(1), CONTACT_MAPPING).id).run
    with pytest.raises(InvalidTransition):
        service.rollback(scope, run.id)
    run.transition("running")
    run.transition("succeeded")
    db.session.commit()
    assert service.rollback(scope, run.id).state == "rolling_back"
    [job_id] = _queued_ids()
    assert Queue("imports", connection=get_redis()).fetch_job(job_id).func_name == "worker.tasks.rollback_run"


def test_recovery_re_enqueues_only_active_runs_nobody_holds(app):
    acct = account()
    scope = TenantScope(acct.id)
    orphan, held, done, lost, fresh = (
        service.create_run(scope, csv_job(acct, None, contacts_csv(1), CONTACT_MAPPING).id).run for _ in range(5))
    for run in (orphan, held, done):
        run.transition("running")
    done.transition("succeeded")
    lost.created_at = utcnow() - timedelta(minutes=6)  # queued, and its RQ job is gone
    db.session.commit()
    lease = RunLease.acquire(held.id)
    get_redis().flushdb()  # Redis forgets everything: the held run must still not look dead
    assert sorted(service.recover_stale_runs()) == sorted([orphan.id, lost.id])
    assert service.recover_stale_runs() == []  # already queued
    lease.release()
