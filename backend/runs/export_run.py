"""Executing an export run inside a worker: the same lease, states, progress and org mirror as an import.

The job's source says what to read: {"soql", "all", "format" (csv | xlsx), "time_zone", "incremental"}.
The file goes straight into the blob store (encrypted, the account's result retention) as the run's
success file; an incremental job's watermark moves only when the run succeeded.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from backend.errors import InflowError
from backend.extensions import db
from backend.models.runs import Run
from backend.pipeline.export import DownloadTarget, ExportProgress, check_query, run_export, since
from backend.pipeline.export.writers import CONTENT_TYPES
from backend.runs import notify
from backend.runs import pieces as run_pieces
from backend.runs import progress as live
from backend.runs.execute import INTERNAL_ERROR, _fail, claim, under_run_lock
from backend.runs.lease import LeaseLost, RunLease
from backend.runs.service import EXPORT_TASK
from backend.salesforce.mirror import RunMirror
from backend.services import get_redis
from backend.storage.blobs import BlobWriter, expiry_for

log = logging.getLogger(__name__)


class ExportStopped(InflowError):
    """The run was cancelled while it read."""


def run_export_task(run_id: str) -> str:
    """The body of the RQ task `worker.tasks.run_export`."""
    return under_run_lock(run_id, _locked, EXPORT_TASK)


def _locked(run_id: str, lease: RunLease) -> tuple[str, datetime | None]:
    run = db.session.get(Run, run_id)
    if run is None or run.finished:
        return (run.state if run else "missing"), None
    claim(lease)
    if run.state == "cancelling":
        run.transition("cancelled")
        db.session.commit()
        return "cancelled", None
    if run.state == "queued":
        run.transition("running")
    db.session.commit()
    try:
        pieces = run_pieces.load(run)
    except InflowError as err:
        state = _fail(run, err.message, lease)
        notify.run_finished(run_id)
        return state, None
    return ExportExecution(pieces, lease).execute(), None


class ExportExecution:
    def __init__(self, pieces: run_pieces.RunPieces, lease: RunLease) -> None:
        self.pieces, self.run, self.lease = pieces, pieces.run, lease
        self.conn = get_redis()
        self.mirror: RunMirror | None = None
        self.rows, self.api = 0, ""
        db.session.commit()

    def execute(self) -> str:
        blob: list[BlobWriter] = []
        try:
            return self._execute(blob)
        except LeaseLost:
            raise
        except InflowError as err:
            return self._failed(err.message, blob)
        except Exception:
            log.exception("export run %s failed", self.run.id)
            return self._failed(INTERNAL_ERROR, blob)

    def _execute(self, blob: list[BlobWriter]) -> str:
        spec, job, account = self.pieces.job.source or {}, self.pieces.job, self.pieces.account
        client = self.pieces.client()
        client.before_write = self.lease.still_held
        self.mirror = RunMirror(client, self.pieces.org.namespace_prefix, job=self.pieces.mirror_job(),
                                run_key=self.run.id)
        self._sync(final=True)
        query = check_query(str(spec.get("soql") or ""), client.describe, include_deleted=bool(spec.get("all")))
        if spec.get("incremental"):
            query = since(query, job.watermark)
        fmt = spec.get("format") or "csv"
        store = self.pieces.store

        def open_stream() -> BlobWriter:
            blob.append(store.create(account.id, "result", name=f"{job.name}.{fmt}", content_type=CONTENT_TYPES[fmt],
                                     expires_at=expiry_for("result", account.retention_days)))
            return blob[0]

        live.publish(self.conn, self.run.id, state="running", phase="reading", paused_until="")
        result = run_export(client, query, DownloadTarget(fmt, open_stream), time_zone=spec.get("time_zone"),
                            progress=self._on_progress)
        stored = blob[0].finish()
        db.session.rollback()
        claim(self.lease)
        db.session.refresh(self.run)
        self.run.success_blob_id, self.run.api = stored.id, result.api
        self.run.rows_read = self.run.rows_succeeded = result.rows
        if self.run.state == "cancelling":
            self.run.transition("cancelled")
        else:
            self.run.transition("succeeded")
            if spec.get("incremental"):
                db.session.refresh(job)
                # Never backwards: two runs in one second may read Salesforce's clock a few ms apart.
                job.watermark = max(filter(None, (job.watermark, result.started_at)))
        db.session.commit()
        self._publish_final()
        return self.run.state

    def _on_progress(self, p: ExportProgress) -> None:
        self.lease.still_held()
        self.rows, self.api = p.rows, p.api
        live.publish(self.conn, self.run.id, rows_read=p.rows, succeeded=p.rows, api=p.api,
                     total_rows=p.total if p.total is not None else "")
        if self.conn.exists(live.cancel_key(self.run.id)):
            raise ExportStopped("The export was cancelled.")

    def _failed(self, message: str, blob: list[BlobWriter]) -> str:
        for writer in blob:
            writer.discard()
        state = _fail(self.run, message, self.lease)
        self._publish_final()
        return state

    def _publish_final(self) -> None:
        run = self.run
        live.publish(self.conn, run.id, state=run.state, phase="done", rows_read=run.rows_read,
                     succeeded=run.rows_succeeded, failed=0, seconds_left=0)
        self.conn.delete(live.cancel_key(run.id))
        self._sync(final=True)
        notify.run_finished(run.id)

    def _sync(self, final: bool = False) -> None:
        if self.mirror is None:
            return
        run: Any = self.run
        self.mirror.sync(status=run.state, api=run.api or self.api, started=run.started_at,
                         finished=run.finished_at, processed=max(self.rows, run.rows_read),
                         succeeded=max(self.rows, run.rows_succeeded), failed=0, error_summary=run.error_summary,
                         initiated_by=self.pieces.initiated_by_sf_user(), final=final)
