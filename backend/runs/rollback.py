"""Rolling a finished run back inside a worker: the engine's rollback(), its own result file, the end state."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from backend.backoff import jittered
from backend.errors import InflowError, RetriableSalesforceError
from backend.extensions import db
from backend.models.base import utcnow
from backend.models.runs import Run
from backend.pipeline import rollback as engine
from backend.runs import pieces as run_pieces
from backend.runs import progress as live
from backend.runs.execute import claim, under_run_lock
from backend.runs.journal import RunJournal
from backend.runs.lease import LeaseLost, RunLease
from backend.runs.parts import BlobResultParts
from backend.runs.service import ROLLBACK_TASK
from backend.salesforce.mirror import RunMirror
from backend.services import get_redis

log = logging.getLogger(__name__)
RESULT_HEADER = b"sf__Id,sf__Action,sf__Error\r\n"


def rollback_run(run_id: str) -> str:
    """The body of the RQ task; resumes an interrupted rollback where the journal says it stopped."""
    return under_run_lock(run_id, _locked, ROLLBACK_TASK)


def _locked(run_id: str, lease: RunLease) -> tuple[str, datetime | None]:
    run = db.session.get(Run, run_id)
    if run is None or run.state != "rolling_back":
        return (run.state if run else "missing"), None
    conn = get_redis()
    mirror = None
    try:
        pieces = run_pieces.load(run)
        client = pieces.client()
        client.before_write = lease.still_held
        mirror = RunMirror(client, pieces.org.namespace_prefix, job=pieces.mirror_job(), run_key=run.id)
        _sync(mirror, run)
        parts = BlobResultParts(pieces.store, run.account_id, run_id, pieces.account.retention_days)
        # End the session's transaction before the long part: nothing of it may stay open (or hold a
        # lock) while the journal writes the run's row through connections of its own.
        db.session.commit()
        result = engine.rollback(engine.RollbackContext(
            client, RunJournal(run_id, lease), parts,
            progress=lambda ok, bad: live.publish(conn, run_id, phase="rolling back", rolled_back=ok,
                                                  rollback_failed=bad)))
        file_id = parts.assemble(engine.RESULT_PART, f"{run.id}-rollback.csv", lambda s: s.write(RESULT_HEADER))
    except LeaseLost:
        raise  # another worker owns the run now
    except RetriableSalesforceError as err:
        db.session.rollback()
        wait = jittered(float(getattr(err, "retry_after", None) or 60))
        live.publish(conn, run.id, phase="paused", paused_until=(utcnow() + timedelta(seconds=wait)).isoformat())
        return "paused", utcnow() + timedelta(seconds=wait)
    except InflowError as err:
        return _give_up(run, err.message, mirror, lease), None
    except Exception:
        log.exception("rollback of run %s failed", run_id)
        return _give_up(run, "Inflow failed unexpectedly while rolling this run back.", mirror, lease), None
    db.session.rollback()
    claim(lease)
    db.session.refresh(run)
    run.rollback_blob_id = file_id
    summary = result.message or (f"{result.failed} record(s) could not be rolled back; see the rollback file."
                                 if result.failed else None)
    run.transition("rolled_back", error=summary)
    db.session.commit()
    live.publish(conn, run.id, state=run.state, phase="done", rolled_back=result.succeeded,
                 rollback_failed=result.failed)
    _sync(mirror, run)
    return run.state, None


def _give_up(run: Run, message: str, mirror: RunMirror | None, lease: RunLease) -> str:
    """A rollback that cannot go on returns the run to where it was, saying why."""
    db.session.rollback()
    claim(lease)
    db.session.refresh(run)
    if run.state == "rolling_back":
        run.transition("partial" if run.rows_failed else "succeeded", error=f"Rollback failed: {message}")
    db.session.commit()
    live.publish(get_redis(), run.id, state=run.state, phase="done")
    _sync(mirror, run)
    return run.state


def _sync(mirror: RunMirror | None, run: Run) -> None:
    if mirror is not None:
        mirror.sync(status=run.state, api=run.api, started=run.started_at, finished=run.finished_at,
                    processed=run.rows_read, succeeded=run.rows_succeeded, failed=run.rows_failed,
                    error_summary=run.error_summary, final=True)
