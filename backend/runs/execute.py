"""Executing a run inside a worker: lease, resume from the journal, run the engine, finish or reschedule.

`run_import(run_id)` is idempotent: a second call while a worker holds the run's lease returns at
once; a call after a crash resumes from the journal (finished chunks are skipped by the runner). A
worker that loses the lease (backend/runs/lease.py) stops before its next write and leaves the run
to its new owner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from backend.backoff import jittered
from backend.billing.usage import count_run
from backend.errors import InflowError, RetriableSalesforceError
from backend.extensions import db
from backend.models.base import NotFound, utcnow
from backend.models.orgs import OrgConnection
from backend.models.runs import Run
from backend.pipeline.results import ErrorFileWriter, SuccessFileWriter
from backend.runs import notify
from backend.runs import pieces as run_pieces
from backend.runs import progress as live
from backend.runs.journal import RunJournal, write_run_row
from backend.runs.lease import LeaseLost, RunLease
from backend.runs.parts import BlobResultParts, ResultStoreFailed
from backend.runs.running_join import RunningJoin
from backend.runs.service import IMPORT_TASK, ROLLBACK_TASK, enqueue
from backend.salesforce.client import LIMIT_MESSAGE
from backend.salesforce.mirror import RunMirror
from backend.services import get_redis

log = logging.getLogger(__name__)
MAX_RETRIES = 5
RETRY_BASE_SECONDS = 30
SOURCE_EXPIRED = ("its uploaded file has expired (uploads are kept for one hour); upload the file again to "
                  "import the rows the result files do not list")
PAUSE_REASON = "runs:pause_reason"  # why the run waits, in its journal (Run.checkpoint): shown with its progress
INTERNAL_ERROR = "Inflow failed unexpectedly while running this import; the team has been notified."


def run_import(run_id: str) -> str:
    """The body of the RQ task; returns what happened (for RQ's result and the logs)."""
    return under_run_lock(run_id, _locked, IMPORT_TASK)


def under_run_lock(run_id: str, body: Callable[[str, RunLease], tuple[str, datetime | None]], task: str) -> str:
    """Run `body` while holding the run's lease; re-enqueue `task` when it asks to resume later."""
    conn = get_redis()
    lease = RunLease.acquire(run_id)
    if lease is None:
        return "already running elsewhere"
    lease.start_heartbeat()
    resume_at: datetime | None = None
    try:
        outcome, resume_at = body(run_id, lease)
    except LeaseLost as err:
        log.warning("%s", err)
        return "lease lost"  # the run has another owner now: schedule nothing, write nothing
    finally:
        db.session.rollback()  # end any transaction; the task's app context removes the session
        lease.release()
    if resume_at is not None:
        enqueue(run_id, task=task, at=resume_at, conn=conn)
    else:
        _start_requested_rollback(run_id, conn)
    return outcome


def _start_requested_rollback(run_id: str, conn: Any) -> None:
    """Start a rollback that was asked for while this worker held the lock.

    The request commits `rolling_back` and then finds the lock held, so it enqueues nothing (enqueue
    skips a locked run). We read the state after releasing the lock, so one of the two always sees the
    other: without this the rollback would wait for the stale-run sweep (worker/cron.py, every 15 s).
    A rollback task never leaves the run `rolling_back` without a resume time, so this cannot loop.
    """
    with db.engine.connect() as c:  # a fresh read, not the session's view from before the release
        state = c.execute(select(Run.state).where(Run.id == run_id)).scalar()
    if state == "rolling_back":
        enqueue(run_id, task=ROLLBACK_TASK, conn=conn)


def claim(lease: RunLease) -> None:
    """Open the session's transaction with a fenced write of the run's row: what the session commits after
    this lands only while this worker owns the run (the row stays locked until the commit)."""
    lease.fenced_update(db.session.connection())


def _locked(run_id: str, lease: RunLease) -> tuple[str, datetime | None]:
    return begin(run_id, lease, Execution)


def begin(run_id: str, lease: RunLease,
          execution: Callable[[run_pieces.RunPieces, RunLease], Execution]) -> tuple[str, datetime | None]:
    """Take a leased run from queued to running (or finish a cancelled one) and hand it to `execution`."""
    run = db.session.get(Run, run_id)
    if run is None or run.finished or run.state == "rolling_back":
        return (run.state if run else "missing"), None
    if run.state == "cancelling" and run.started_at is None:
        claim(lease)
        run.transition("cancelled")
        db.session.commit()
        return "cancelled", None
    if run.state == "queued":
        claim(lease)
        run.transition("running")
        db.session.commit()
    try:
        pieces = run_pieces.load(run)
    except InflowError as err:
        state = _fail(run, err.message, lease)
        notify.run_finished(run_id)
        return state, None
    return execution(pieces, lease).execute()


class Execution:
    """One attempt at a run: the engine call and what follows from its result."""

    def __init__(self, pieces: run_pieces.RunPieces, lease: RunLease) -> None:
        self.pieces, self.run, self.lease = pieces, pieces.run, lease
        self.conn = get_redis()
        self.journal = RunJournal(self.run.id, lease)
        self.parts = BlobResultParts(pieces.store, pieces.account.id, self.run.id, pieces.account.retention_days)
        self.client: Any = None
        self.mirror: RunMirror | None = None
        self.reporter: live.ProgressReporter | None = None
        self.joining: RunningJoin | None = None  # the result files, joined as chunks finish
        self.api = pieces.run.api or ""
        self.initiated_by = pieces.initiated_by_sf_user()
        # The stored secrets are about to be used: say so now, in this short transaction, never by dirtying
        # the session later (a flushed org or connection row would hold the database's lock through the run).
        pieces.mark_secrets_used()
        db.session.commit()  # end the read transaction: nothing of the session stays open during the run

    def execute(self) -> tuple[str, datetime | None]:
        try:
            return self._execute()
        except LeaseLost:
            raise  # another worker owns the run now: not a failure of the run
        except RetriableSalesforceError as err:
            return self._retry_later(err)
        except NotFound:  # the uploaded file expired (kept one hour) before the run could read it all
            return self._finish(self._journaled_result(SOURCE_EXPIRED), []), None
        except InflowError as err:
            return self._finish_failed(err.message), None
        except Exception:
            log.exception("run %s failed", self.run.id)
            return self._finish_failed(INTERNAL_ERROR), None

    def _execute(self) -> tuple[str, datetime | None]:
        from backend.pipeline import runner

        self.client = self.pieces.client()
        self.client.before_write = self.lease.still_held
        self.mirror = RunMirror(self.client, self.pieces.org.namespace_prefix, job=self.pieces.mirror_job(),
                                run_key=self.run.id)
        self._sync_mirror(final=True)
        source, mapping = self.pieces.source(), self.pieces.mapping()
        db.session.commit()
        if self.run.state == "cancelling":  # cancelled while paused: no need to ask Salesforce anything
            return self._finish(self._journaled_result(), source.columns()), None
        total = self._total_rows()
        self.reporter = live.ProgressReporter(self.conn, self.run.id, total, self.lease)
        live.publish(self.conn, self.run.id, state="running", paused_until="", pause_reason="")
        if self.journal.get(PAUSE_REASON):
            self.journal.put(PAUSE_REASON, "")
        self.joining = RunningJoin(self.parts, {"success": _file_name(self.run, "success"),
                                                "error": _file_name(self.run, "errors")})
        try:
            result = runner.run(runner.RunContext(
                source=source, mapping=mapping, client=self.client, api=self.pieces.api(), journal=self.journal,
                results=self.parts, progress=self._on_progress, should_stop=self._should_stop,
                row_count_hint=total, on_chunk_done=self.joining.chunk_done))
        except BaseException:
            self.joining.discard()  # the next attempt joins its own
            raise
        if getattr(result, "paused_until", None):  # only ever the org's API allowance (ApiLimitExceeded)
            self.joining.discard()
            return self._pause(result, result.paused_until, LIMIT_MESSAGE)
        return self._finish(result, source.columns()), None

    def _journaled_result(self, stopped: str = "cancelled") -> Any:
        """What the journal says the finished chunks did: the counts of a run stopped before it resumed."""
        chunks = [self.journal.get(k) for k in self.journal.keys() if k.startswith("chunk/")]
        rows, ok, bad, new = (sum(int((c or {}).get(k, 0)) for c in chunks)
                              for k in ("rows", "succeeded", "failed", "created"))
        return SimpleNamespace(api_used=self.journal.get("api") or "", rows_read=rows, succeeded=ok, failed=bad,
                               created=new,
                               stopped_reason=stopped)

    def _total_rows(self) -> int | None:
        total = self.journal.get("runs:total_rows")
        if total is None:
            total = self.pieces.total_rows_hint()
            self.journal.put("runs:total_rows", total)
        return total

    def _on_progress(self, progress: Any) -> None:
        assert self.reporter is not None
        self.reporter(progress)
        if not self.api and self.journal.get("api"):  # the runner's choice, known once it has chosen
            # Never through the ORM mid-run: a flushed UPDATE would hold SQLite's write lock until the
            # end of the run and block the journal's own commits.
            self.api = str(self.journal.get("api"))
            live.publish(self.conn, self.run.id, api=self.api)
            write_run_row(self.run.id, self.lease, api=self.api)
        self._sync_mirror()
        db.session.commit()  # no transaction of the session stays open between progress calls

    def _should_stop(self) -> str | None:
        if self.conn.exists(live.cancel_key(self.run.id)):
            return "cancelled"
        with db.engine.connect() as conn:
            state = conn.execute(select(Run.state).where(Run.id == self.run.id)).scalar()
            org_status = conn.execute(select(OrgConnection.status).where(
                OrgConnection.id == self.pieces.org.id)).scalar()
        if state == "cancelling":
            return "cancelled"
        if org_status != "connected":
            return "instance disconnected"
        return None

    def _sync_mirror(self, final: bool = False) -> None:
        if self.mirror is None:
            return
        run, snap = self.run, (self.reporter.last if self.reporter else live.Snapshot())
        self.mirror.sync(status=run.state, api=run.api or self.api, started=run.started_at, finished=run.finished_at,
                         processed=max(snap.rows_read, run.rows_read),
                         succeeded=max(snap.succeeded, run.rows_succeeded),
                         failed=max(snap.failed, run.rows_failed), error_summary=run.error_summary,
                         initiated_by=self.initiated_by, final=final)

    def _counts(self, result: Any) -> None:
        run = self.run
        run.api = str(getattr(result, "api_used", "") or run.api or "")
        run.rows_read, run.rows_succeeded, run.rows_failed = result.rows_read, result.succeeded, result.failed
        run.rows_created = int(getattr(result, "created", 0) or 0)

    def _finish(self, result: Any, columns: list[str]) -> str:
        run = self.run
        headers = {"success": lambda s: SuccessFileWriter(s, columns), "error": lambda s: ErrorFileWriter(s, columns)}
        joined = self.joining.files(headers) if self.joining else None
        if joined is not None:
            success_id, error_id = joined["success"], joined["error"]
        else:
            success_id = self.parts.assemble("success/", _file_name(run, "success"), headers["success"])
            try:
                error_id = self.parts.assemble("error/", _file_name(run, "errors"), headers["error"])
            except ResultStoreFailed:
                self.pieces.store.delete(run.account_id, success_id)  # one file without the other: offer neither
                raise
        db.session.rollback()
        claim(self.lease)
        db.session.refresh(run)
        old = (run.success_blob_id, run.error_blob_id)
        run.success_blob_id, run.error_blob_id = success_id, error_id
        self._counts(result)
        stopped = getattr(result, "stopped_reason", None)
        if run.state == "cancelling" or stopped == "cancelled":
            if run.state == "running":
                run.transition("cancelling")
            run.transition("cancelled")
        elif stopped:
            run.transition("failed", error=f"The import stopped: {stopped}.")
        elif result.failed and not result.succeeded:  # nothing was imported: not "finished with errors"
            run.transition("failed", error=f"Every row failed ({result.failed:,}); see the error file.")
        else:
            run.transition("partial" if result.failed else "succeeded")
        count_run(run)
        db.session.commit()
        self._after_finish([b for b in old if b])
        return run.state

    def _after_finish(self, stale_files: list[str]) -> None:
        for blob_id in stale_files:  # files assembled by an attempt that died before committing its state
            self.pieces.store.delete(self.run.account_id, blob_id)
        # Files of an attempt killed after assembling them and before finishing the run: no row names them.
        run = self.run
        for kind, blob_id in (("success", run.success_blob_id), ("errors", run.error_blob_id)):
            if blob_id:
                self.parts.drop_other_copies(_file_name(run, kind), keep=blob_id)
        self.parts.delete_parts(["success/", "error/"])
        self._publish_final()

    def _publish_final(self) -> None:
        run = self.run
        live.publish(self.conn, run.id, state=run.state, phase="done", rows_read=run.rows_read,
                     succeeded=run.rows_succeeded, failed=run.rows_failed, seconds_left=0)
        self.conn.delete(live.cancel_key(run.id))
        self._sync_mirror(final=True)
        notify.run_finished(run.id)

    def _pause(self, result: Any, until: datetime, reason: str) -> tuple[str, datetime]:
        self.journal.put(PAUSE_REASON, reason)
        db.session.rollback()
        claim(self.lease)
        db.session.refresh(self.run)
        self._counts(result)
        self.run.phase = "paused"
        db.session.commit()
        live.publish(self.conn, self.run.id, phase="paused", paused_until=until.isoformat(), pause_reason=reason)
        self._sync_mirror(final=True)
        return "paused", until

    def _retry_later(self, err: RetriableSalesforceError) -> tuple[str, datetime | None]:
        retry_after = getattr(err, "retry_after", None)
        if retry_after is not None:  # the org's API allowance: wait, do not count it as a failure
            return self._pause_without_result(utcnow() + timedelta(seconds=float(retry_after)), err.message)
        attempts = int(self.journal.get("runs:retries") or 0) + 1
        if attempts > MAX_RETRIES:
            return self._finish_failed(err.message), None
        self.journal.put("runs:retries", attempts)
        log.warning("run %s: %s; retry %d of %d", self.run.id, err.detail or err.message, attempts, MAX_RETRIES)
        # Jittered: runs that failed together (an outage of the org) do not all come back at the same second.
        wait = jittered(RETRY_BASE_SECONDS * 2 ** (attempts - 1))
        return self._pause_without_result(utcnow() + timedelta(seconds=wait), f"Retry {attempts} of {MAX_RETRIES}: "
                                          f"{err.message}")

    def _pause_without_result(self, until: datetime, reason: str) -> tuple[str, datetime]:
        self.journal.put(PAUSE_REASON, reason)
        db.session.rollback()
        live.publish(self.conn, self.run.id, phase="paused", paused_until=until.isoformat(), pause_reason=reason)
        return "paused", until

    def _finish_failed(self, message: str) -> str:
        db.session.rollback()
        state = _fail(self.run, message, self.lease)
        self._publish_final()
        return state


def _file_name(run: Run, kind: str) -> str:
    return f"{run.id}-{kind}.csv"


def _fail(run: Run, message: str, lease: RunLease) -> str:
    db.session.rollback()
    claim(lease)
    db.session.refresh(run)
    if run.state == "cancelling":
        run.transition("cancelled", error=message)
    elif not run.finished:
        run.transition("failed", error=message)
    count_run(run)
    db.session.commit()
    return run.state
