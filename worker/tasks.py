"""RQ tasks. Arguments are ids only: never credentials, tokens or row data."""

from __future__ import annotations

import logging
from functools import cache

from flask import Flask

log = logging.getLogger(__name__)


@cache
def app() -> Flask:
    """One app per worker process, built from the environment like the web process."""
    from backend import create_app

    return create_app(web=False)


def preload() -> None:
    """Import what the tasks run before RQ forks a work horse for each job: the horse inherits the modules,
    so a job starts at once instead of importing pandas, pyarrow and the engine again (about 1.3 s of CPU a
    job here, paid by every piece of a split run). Imports only: no connection or socket is opened and no Python
    thread started (pyarrow's import starts jemalloc's background thread; jemalloc's fork handlers cover it)."""
    from backend import connectors  # noqa: F401
    from backend.runs import execute, export_run, multi, notify, piece_work, rollback, schedules, split  # noqa: F401


def purge_expired() -> int:
    from backend.services import get_blob_store

    with app().app_context():
        count = get_blob_store().purge_expired()
    log.info("purged %d expired blob(s)", count)
    return count


def run_import(run_id: str) -> str:
    """Execute (or resume) one import run; a second copy while one runs returns at once."""
    from backend.runs import multi, split

    with app().app_context():
        outcome = multi.run_migration(run_id) if multi.is_migration(run_id) else split.run_import(run_id)
    log.info("run %s: %s", run_id, outcome)
    return outcome


def work_pieces() -> str:
    """Take pieces of any run (backend/runs/piece_work.py) until none is free for this worker."""
    from backend.runs import piece_work

    with app().app_context():
        moved = piece_work.work_pieces()
    log.info("moved %d piece(s)", moved)
    return f"{moved} piece(s)"


def run_export(run_id: str) -> str:
    """Execute one export run: Salesforce records into an encrypted CSV or Excel result file."""
    from backend.runs import export_run

    with app().app_context():
        outcome = export_run.run_export_task(run_id)
    log.info("export run %s: %s", run_id, outcome)
    return outcome


def rollback_run(run_id: str) -> str:
    """Roll a finished run back (state rolling_back); writes the rollback result file."""
    from backend.runs import multi, rollback

    with app().app_context():
        outcome = (multi.rollback_migration_run(run_id) if multi.is_migration(run_id)
                   else rollback.rollback_run(run_id))
    log.info("rollback of run %s: %s", run_id, outcome)
    return outcome


def recover_runs() -> list[str]:
    """Re-enqueue runs whose worker died (active state, lock expired): the crash-recovery sweep."""
    from backend.runs.service import recover_stale_runs

    with app().app_context():
        recovered = recover_stale_runs()
    if recovered:
        log.warning("re-enqueued %d run(s) left by a dead worker: %s", len(recovered), ", ".join(recovered))
    return recovered


def fire_schedules() -> int:
    """RQ cron, every minute on every worker machine: start the runs of due schedule occurrences (each at
    most once, whichever scheduler gets there first)."""
    from backend.runs.schedules import fire_due

    with app().app_context():
        fired = fire_due()
    for f in fired:
        log.info("schedule of job %s at %s: %s %s", f.job_id, f.occurrence.isoformat(), f.outcome, f.run_id or "")
    return len(fired)


def notify_run_email(run_id: str) -> int:
    """E-mail a run's outcome; raising lets RQ retry (see backend/runs/notify.py)."""
    from backend.runs import notify

    with app().app_context():
        return notify.send_email(run_id)


def notify_run_salesforce(run_id: str) -> int:
    """The run's outcome as a Salesforce custom notification; raising lets RQ retry."""
    from backend.runs import notify

    with app().app_context():
        return notify.send_salesforce(run_id)


def send_digests() -> int:
    from backend.runs import notify

    with app().app_context():
        return notify.send_digests()
