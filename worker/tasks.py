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

    return create_app()


def purge_expired() -> int:
    from backend.services import get_blob_store

    with app().app_context():
        count = get_blob_store().purge_expired()
    log.info("purged %d expired blob(s)", count)
    return count


def run_import(run_id: str) -> str:
    """Execute (or resume) one import run; a second copy while one runs returns at once."""
    from backend.runs import execute

    with app().app_context():
        outcome = execute.run_import(run_id)
    log.info("run %s: %s", run_id, outcome)
    return outcome


def run_export(run_id: str) -> str:
    """Execute one export run: Salesforce records into an encrypted CSV or Excel result file."""
    from backend.runs import export_run

    with app().app_context():
        outcome = export_run.run_export_task(run_id)
    log.info("export run %s: %s", run_id, outcome)
    return outcome


def rollback_run(run_id: str) -> str:
    """Roll a finished run back (state rolling_back); writes the rollback result file."""
    from backend.runs import rollback

    with app().app_context():
        outcome = rollback.rollback_run(run_id)
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
