"""Run history in the org: upsert Import_Job__c / Import_Run__c by their key fields, never failing the import.

Written at the start of a run, at most every 10 seconds while it runs, and at the end. Any failure is
logged and swallowed; an org without the package's objects (or without access to them) switches the
mirror off for the rest of the run instead of costing a failed call every 10 seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from backend.errors import FatalSalesforceError
from backend.salesforce import mirror_fields as mf
from backend.salesforce.client import path_quote

log = logging.getLogger(__name__)
MIN_INTERVAL_SECONDS = 10.0
# Our run states that the org's restricted Status__c picklist does not have.
STATUS_FOR = {"cancelling": "running"}
OPERATION_FOR = {"hardDelete": "hard_delete"}


class RunMirror:
    """Upserts one run (and its job, once) into one org; `sync(values, final=...)` is always safe to call."""

    def __init__(self, client: Any, namespace: str, *, job: dict[str, Any], run_key: str,
                 clock: Callable[[], float] = time.monotonic, min_interval: float = MIN_INTERVAL_SECONDS) -> None:
        self.client, self.ns = client, namespace or ""
        self.job = job  # job_key, name, target_object, operation, source_type, schedule, active
        self.run_key = run_key
        self.clock, self.min_interval = clock, min_interval
        self.enabled = True
        self._job_written = False
        self._last: float | None = None
        self.writes = 0

    def sync(self, *, status: str, api: str | None, started: datetime | None, finished: datetime | None,
             processed: int, succeeded: int, failed: int, error_summary: str | None = None,
             initiated_by: str | None = None, final: bool = False) -> bool:
        """Write the run unless one was written less than 10 s ago (a final write always goes)."""
        now = self.clock()
        if not self.enabled or (not final and self._last is not None and now - self._last < self.min_interval):
            return False
        self._last = now
        try:
            if not self._job_written:
                self._upsert_job()
                self._job_written = True
            record = mf.run_record(
                run_key=self.run_key, job_key=self.job["job_key"], status=STATUS_FOR.get(status, status),
                operation=OPERATION_FOR.get(self.job["operation"], self.job["operation"]),
                object_name=self.job["target_object"], api=api or None, started=started, finished=finished,
                processed=processed, succeeded=succeeded, failed=failed,
                error_summary=mf.truncate(error_summary or None, mf.ERROR_SUMMARY_MAX),
                results_url=None, initiated_by=initiated_by, ns=self.ns)
            self._upsert(mf.RUN_OBJECT, mf.RUN_KEY_FIELD, self.run_key, record)
            self.writes += 1
            return True
        except Exception as err:  # noqa: BLE001 - history must never fail the import
            self._on_failure(err)
            return False

    def _upsert_job(self) -> None:
        job = self.job
        record = mf.job_record(job_key=job["job_key"], name=job.get("name", ""),
                               target_object=job["target_object"],
                               operation=OPERATION_FOR.get(job["operation"], job["operation"]),
                               source_type=job.get("source_type", ""), schedule=job.get("schedule"),
                               active=job.get("active", True), ns=self.ns)
        self._upsert(mf.JOB_OBJECT, mf.JOB_KEY_FIELD, job["job_key"], record)

    def _upsert(self, base_object: str, base_key: str, key: str, record: dict[str, Any]) -> None:
        obj, field = mf.object_name(base_object, self.ns), mf.field_name(base_key, self.ns)
        body = {k: v for k, v in record.items() if k != field}  # the key travels in the URL
        self.client.request("PATCH", f"sobjects/{obj}/{field}/{path_quote(key)}", json=body)

    def _on_failure(self, err: Exception) -> None:
        detail = getattr(err, "detail", None) or str(err)
        if isinstance(err, FatalSalesforceError):
            # Missing objects, no access, invalid fields: will not heal within this run.
            self.enabled = False
            log.warning("run history disabled for run %s: %s", self.run_key, detail)
        else:
            log.warning("run history write failed for run %s (will retry): %s", self.run_key, detail)
