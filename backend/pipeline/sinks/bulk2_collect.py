"""Bulk2 results in the background: poll finished uploads (fast first, then backing off), match results.

One thread per sink takes jobs in upload order, so the main thread keeps mapping and uploading while
Salesforce works and while result files download. A failure (REQUEST_LIMIT_EXCEEDED while polling, say)
is kept on the job and raised in the main thread when it asks for that job's results.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import numpy as np

from backend.pipeline.mapping import Mapping
from backend.pipeline.sinks.base import RowResults
from backend.pipeline.sinks.bulk_csv import match_results, results_frame
from backend.pipeline.sinks.lockretry import retry_locked
from backend.salesforce.client import SalesforceClient

TERMINAL = ("JobComplete", "Failed", "Aborted")


class Collector:
    def __init__(self, client: SalesforceClient, mapping: Mapping, poll: tuple[float, float],
                 lock_backoff: float) -> None:
        self.client, self.mapping, self.poll, self.lock_backoff = client, mapping, poll, lock_backoff
        self.jobs: queue.Queue[Any] = queue.Queue()
        self.thread: threading.Thread | None = None

    def add(self, job: Any) -> None:
        job.done = threading.Event()
        if self.thread is None:
            self.thread = threading.Thread(target=self._loop, name="bulk2-results", daemon=True)
            self.thread.start()
        self.jobs.put(job)

    def stop(self) -> None:
        if self.thread is not None:
            self.jobs.put(None)
            self.thread = None

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                self._collect(job, self._wait(job))
            except BaseException as err:  # handed to the main thread
                job.failure = err
            finally:
                job.done.set()

    def _wait(self, job: Any) -> dict[str, Any]:
        interval = self.poll[0]
        while True:
            time.sleep(interval)
            info = self.client.bulk2_job(job.id)
            if info.get("state") in TERMINAL:
                return info
            interval = min(self.poll[1], interval * 1.5)

    def _collect(self, job: Any, info: dict[str, Any]) -> None:
        # Skip the calls whose answer the job info already gives (an empty file): fewer API calls.
        failed = self.client.bulk2_results(job.id, "failedResults") if info.get("numberRecordsFailed", 1) else b""
        complete = info.get("state") == "JobComplete"
        unprocessed = b"" if complete else self.client.bulk2_results(job.id, "unprocessedrecords")
        success = self.client.bulk2_results(job.id, "successfulResults", stream=True)
        try:
            frame = results_frame(job.columns, success, failed, unprocessed, info.get("errorMessage"))
        finally:
            success.close()
        empty = np.zeros(0, dtype=np.uint64)
        keys = np.concatenate([job.keys.get(i, empty) for i in job.chunks]) if job.chunks else empty
        matched = match_results(keys, frame)
        del frame
        retry_locked(self.client, self.mapping, job.columns, failed, keys, matched, self.lock_backoff)
        results, start = {}, 0
        for i in job.chunks:
            n = len(job.keys.get(i, empty))
            results[i] = RowResults(matched.ids[start:start + n], matched.created[start:start + n],
                                    matched.errors[start:start + n])
            start += n
        job.keys = {}
        job.results = results
