"""A rollback asked for while the import's worker still holds the run's lock starts when it lets go.

The request finds the lock held and enqueues nothing; the finishing worker, once it has released the
lock, sees the run waiting in `rolling_back` and enqueues the rollback itself, so the stale-run sweep
(worker/cron.py, every 15 s) is not what starts it. Real Redis, real RQ queue, real localorg.
"""

from __future__ import annotations

from rq import Queue
from rq.registry import ScheduledJobRegistry
from simple_salesforce import Salesforce

from backend.extensions import db
from backend.models import Run
from backend.models.base import TenantScope
from backend.runs import execute, service
from backend.runs import rollback as run_rollback
from backend.runs.lease import is_held
from backend.services import get_redis
from tests.runs.factories import CONTACT_MAPPING, account, connect, contacts_csv, csv_job


def _contacts(org, sf_session) -> list[dict]:
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    return sf.query_all("SELECT Id FROM Contact")["records"]


def _leased(run_id: str) -> bool:
    db.session.expire_all()
    return is_held(db.session.get(Run, run_id))


def test_a_rollback_requested_while_the_import_finishes_is_enqueued_when_the_lock_is_released(
        app, org, sf_session):
    acct = account()
    scope = TenantScope(acct.id)
    run = service.create_run(scope, csv_job(acct, connect(acct, org), contacts_csv(8), CONTACT_MAPPING,
                                            api="rest").id).run
    assert execute.run_import(run.id) == "succeeded" and len(_contacts(org, sf_session)) == 8
    queue = Queue("imports", connection=get_redis())
    assert queue.get_job_ids() == []

    def import_finishing(run_id: str, lease):
        # The import's state is committed; its worker is still deleting parts and syncing history when
        # the user clicks Roll back.
        assert _leased(run_id)
        assert service.rollback(scope, run_id).state == "rolling_back"
        assert queue.get_job_ids() == []  # the request saw the lock and left the start to the worker
        return "succeeded", None

    assert execute.under_run_lock(run.id, import_finishing, service.IMPORT_TASK) == "succeeded"
    assert not _leased(run.id)
    [job_id] = queue.get_job_ids()  # on the queue now, not scheduled for later
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == []
    job = queue.fetch_job(job_id)
    assert (job.func_name, job.args) == (service.ROLLBACK_TASK, (run.id,))

    # What the worker that picks the job up does (worker.tasks.rollback_run without its own app).
    assert run_rollback.rollback_run(*job.args) == "rolled_back"
    assert db.session.get(Run, run.id).state == "rolled_back" and _contacts(org, sf_session) == []
