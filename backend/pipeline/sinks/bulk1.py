"""Bulk1Sink: Bulk API 1.0 in Serial mode through salesforce-bulk: one batch per chunk, results in order.

Serial mode processes one batch at a time, so rows never fight over a parent's lock (the choice for
objects with heavy triggers or many children per parent). The job id is journaled when created
(`bulk1/job`), each batch id before it is waited for (`bulk1/batch/<chunk>`): a resumed run waits for
a posted batch instead of posting it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from salesforce_bulk import SalesforceBulk
from salesforce_bulk.salesforce_bulk import BulkApiError, BulkBatchFailed

from backend.errors import FatalSalesforceError, RetriableSalesforceError
from backend.pipeline.mapping import MappedChunk, Mapping
from backend.pipeline.sinks.base import Journal, Outcome, RowResults
from backend.pipeline.sinks.bulk_csv import csv_bytes, upload_frame
from backend.salesforce.client import SalesforceClient

BATCH_ROWS = 10_000  # Bulk 1.0: at most 10,000 records per batch
DONE = ("Completed", "Failed", "Not Processed", "NotProcessed")


class Bulk1Sink:
    api = "bulk1"

    def __init__(self, client: SalesforceClient, mapping: Mapping, journal: Journal, *,
                 heartbeat: Callable[[], None] | None = None, poll: tuple[float, float] = (0.25, 10.0),
                 lock_backoff: float = 1.0) -> None:
        self.client, self.mapping, self.journal = client, mapping, journal
        self.heartbeat = heartbeat or (lambda: None)
        self.poll = poll
        self.job_id: str | None = journal.get("bulk1/job")
        self.bulk = self._connect()

    def _connect(self) -> SalesforceBulk:
        bulk = SalesforceBulk(sessionId=self.client.access_token, host=self.client.instance_url,
                              API_version=self.client.api_version)
        job_id = getattr(self, "job_id", None)
        if job_id:  # a job from the journal or from before a token refresh: salesforce-bulk must know it
            bulk.jobs[job_id] = job_id
            bulk.job_content_types[job_id] = "CSV"
        return bulk

    def _call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """A salesforce-bulk call; an expired session is renewed once through the client."""
        try:
            return fn(self.bulk, *args, **kw)
        except BulkApiError as err:
            if "InvalidSessionId" not in str(err) or not self.client._refresh(self.bulk.sessionId):
                raise _bulk_error(err) from None
            self.bulk = self._connect()
            try:
                return fn(self.bulk, *args, **kw)
            except BulkApiError as again:
                raise _bulk_error(again) from None

    def submit(self, index: int, mapped: MappedChunk) -> list[Outcome]:
        results = RowResults.empty(len(mapped))
        frame = upload_frame(mapped, self.mapping.operation)
        for start in range(0, len(mapped), BATCH_ROWS):
            part = frame.iloc[start:start + BATCH_ROWS]
            key = f"bulk1/batch/{index:06d}/{start // BATCH_ROWS}"
            batch_id = self.journal.get(key)
            if batch_id is None:
                data = csv_bytes(part, header=True)
                batch_id = self._call(SalesforceBulk.post_batch, self._job(), data)
                self.journal.put(key, batch_id)
            self._wait(batch_id)
            rows = self._call(SalesforceBulk.get_batch_results, batch_id, self.job_id)
            _place(results, start, rows, self.mapping.operation)
        return [Outcome(index, mapped, results)]

    def _job(self) -> str:
        if self.job_id is None:
            m = self.mapping
            self.job_id = self._call(SalesforceBulk.create_job, m.object, m.operation, contentType="CSV",
                                     concurrency="Serial",
                                     external_id_name=m.match_key if m.operation == "upsert" else None)
            self.journal.put("bulk1/job", self.job_id)
        return self.job_id

    def _wait(self, batch_id: str) -> None:
        interval = self.poll[0]
        while True:
            try:
                state = self._call(SalesforceBulk.batch_state, batch_id, self.job_id, reload=True)
            except BulkBatchFailed as err:
                raise FatalSalesforceError(f"The Bulk API batch failed: {err.state_message}") from None
            if state in DONE:
                if state != "Completed":
                    status = self._call(SalesforceBulk.batch_status, batch_id, self.job_id)
                    raise FatalSalesforceError(f"The Bulk API batch failed: {status.get('stateMessage')}")
                return
            self.heartbeat()
            time.sleep(interval)
            interval = min(self.poll[1], interval * 1.6)

    def finish(self) -> list[Outcome]:
        if self.job_id is not None:
            self._call(SalesforceBulk.close_job, self.job_id)
        return []

    def drain(self) -> list[Outcome]:
        return []

    def done(self, index: int) -> None:
        pass

    def close(self) -> None:
        pass


def _place(results: RowResults, start: int, rows: list[Any], operation: str) -> None:
    for i, row in enumerate(rows):
        ok = str(row.success).lower() == "true"
        results.ids[start + i] = row.id or None
        results.created[start + i] = ok and str(row.created).lower() == "true"
        results.errors[start + i] = "" if ok else str(row.error).removesuffix("--").rstrip(" :")
    if len(rows) < len(results.ids) - start and not len(rows):
        results.errors[start:] = np.full(len(results.ids) - start, "NO_RESULT:no result from Salesforce", object)


def _bulk_error(err: BulkApiError) -> Exception:
    if err.status_code and err.status_code >= 500:
        return RetriableSalesforceError("Salesforce's Bulk API failed; try again later.", detail=str(err))
    return FatalSalesforceError("Salesforce refused the Bulk API request.", detail=str(err)[:500])
