"""Executing an export run inside a worker: the same lease, states, progress, org mirror, retries and usage
count as an import (an `Execution` whose engine call is the export).

The job's source says what to read: {"soql", "all", "format" (csv | xlsx), "time_zone", "incremental",
"target"}. Without a target (or {"kind": "download"}) the file goes straight into the blob store (encrypted,
the account's result retention) as the run's success file; a table or file target writes through its
connection (backend/connectors/targets.py). REQUEST_LIMIT_EXCEEDED and outages pause the run and reschedule
it as they do an import; the export then starts again (tables are upserted on Id, files replaced whole). An
incremental job's watermark moves only when the run succeeded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.billing.usage import count_run
from backend.connectors import targets
from backend.errors import InflowError
from backend.extensions import db
from backend.pipeline.export import DownloadTarget, ExportProgress, ExportTarget, check_query, run_export, since
from backend.pipeline.export.writers import CONTENT_TYPES
from backend.runs import progress as live
from backend.runs.execute import Execution, begin, claim, under_run_lock
from backend.runs.lease import RunLease
from backend.runs.service import EXPORT_TASK
from backend.salesforce.mirror import RunMirror
from backend.services import get_settings
from backend.storage.blobs import BlobWriter, expiry_for


class ExportStopped(InflowError):
    """The run was cancelled while it read."""


def run_export_task(run_id: str) -> str:
    """The body of the RQ task `worker.tasks.run_export`."""
    return under_run_lock(run_id, _locked, EXPORT_TASK)


def _locked(run_id: str, lease: RunLease) -> tuple[str, datetime | None]:
    return begin(run_id, lease, ExportExecution)


class ExportExecution(Execution):
    def __init__(self, pieces: Any, lease: RunLease) -> None:
        super().__init__(pieces, lease)
        self.rows = 0
        self.blob: list[BlobWriter] = []

    def _execute(self) -> tuple[str, datetime | None]:
        try:
            return self._export(), None
        except BaseException:
            for writer in self.blob:  # a failed or paused attempt keeps no half file
                writer.discard()
            raise

    def _export(self) -> str:
        if self.run.state == "cancelling":  # cancelled while it waited for a retry: nothing to read
            return self._finish_failed("The export was cancelled.")
        spec, job = self.pieces.job.source or {}, self.pieces.job
        self.client = self.pieces.client()
        self.client.before_write = self.lease.still_held
        self.mirror = RunMirror(self.client, self.pieces.org.namespace_prefix, job=self.pieces.mirror_job(),
                                run_key=self.run.id)
        self._sync_mirror(final=True)
        query = check_query(str(spec.get("soql") or ""), self.client.describe, include_deleted=bool(spec.get("all")))
        if spec.get("incremental"):
            query = since(query, job.watermark)
        target = targets.for_job(self.pieces.scope, spec.get("target"),
                                 allow_loopback=get_settings().egress_allow_loopback) or self._download(spec)
        db.session.commit()  # no transaction of the session stays open while the export runs
        live.publish(self.conn, self.run.id, state="running", phase="reading", paused_until="", pause_reason="")
        result = run_export(self.client, query, target, time_zone=spec.get("time_zone"), progress=self._on_progress)
        stored = self.blob[0].finish() if self.blob else None
        db.session.rollback()
        claim(self.lease)
        db.session.refresh(self.run)
        if stored is not None:
            self.run.success_blob_id = stored.id
        self.run.api = result.api
        self.run.rows_read = self.run.rows_succeeded = result.rows
        if self.run.state == "cancelling":
            self.run.transition("cancelled")
        else:
            self.run.transition("succeeded")
            if spec.get("incremental"):
                db.session.refresh(job)
                # Never backwards: two runs in one second may read Salesforce's clock a few ms apart.
                job.watermark = max(filter(None, (job.watermark, result.started_at)))
        count_run(self.run)  # exported rows count against the plan as imported rows do
        db.session.commit()
        self._publish_final()
        return self.run.state

    def _download(self, spec: dict[str, Any]) -> ExportTarget:
        job, account, store = self.pieces.job, self.pieces.account, self.pieces.store
        fmt = spec.get("format") or "csv"

        def open_stream() -> BlobWriter:
            self.blob.append(store.create(account.id, "result", name=f"{job.name}.{fmt}",
                                          content_type=CONTENT_TYPES[fmt],
                                          expires_at=expiry_for("result", account.retention_days)))
            return self.blob[0]
        return DownloadTarget(fmt, open_stream)

    def _on_progress(self, p: ExportProgress) -> None:  # type: ignore[override]
        self.lease.still_held()
        self.rows, self.api = p.rows, p.api
        live.publish(self.conn, self.run.id, rows_read=p.rows, succeeded=p.rows, api=p.api,
                     total_rows=p.total if p.total is not None else "")
        if self.conn.exists(live.cancel_key(self.run.id)):
            raise ExportStopped("The export was cancelled.")

    def _sync_mirror(self, final: bool = False) -> None:
        if self.mirror is None:
            return
        run: Any = self.run
        self.mirror.sync(status=run.state, api=run.api or self.api, started=run.started_at,
                         finished=run.finished_at, processed=max(self.rows, run.rows_read or 0),
                         succeeded=max(self.rows, run.rows_succeeded or 0), failed=0,
                         error_summary=run.error_summary, initiated_by=self.initiated_by, final=final)
