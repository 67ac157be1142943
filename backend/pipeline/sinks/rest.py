"""RestSink: sObject Collections, 200 records per call, a few calls in parallel threads.

Each 200-row call's results are journaled as soon as that call returns (key `rest/<chunk>`), and the
next call starts only after, so a run stopped mid-chunk (REQUEST_LIMIT_EXCEEDED, a crash) sends again
at most the calls that were on the wire. Rows failing with UNABLE_TO_LOCK_ROW are sent again with
backoff, the last round one call at a time; their new results are journaled the same way.

Sending an update, upsert or delete again writes the same values, but sending an insert again creates
the records twice: Salesforce has no idempotency key, and a call that reached Salesforce before its
process died (SIGKILL, a lost machine) created records nobody recorded. So an insert call is marked
"sent" in the journal (when it started by Salesforce's clock, and who sent it) before it leaves; the
mark rides in the put that records the call that just returned, costing no extra write. A resumed run
first settles the marked calls by asking the org what they created (rest_resume.py) and sends again only
the rows that left no record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from itertools import islice
from typing import Any

import numpy as np

from backend.pipeline.mapping import MappedChunk, Mapping
from backend.pipeline.sinks.base import Journal, Outcome, RowResults, collection_error
from backend.pipeline.sinks.rest_resume import BATCH, CallLog, settle_sent, stamp
from backend.salesforce.client import SalesforceClient

THREADS = 4
LOCK_ROUNDS = 3

__all__ = ["BATCH", "LOCK_ROUNDS", "THREADS", "RestSink", "rest_records"]


def rest_records(mapped: MappedChunk, operation: str) -> list[dict[str, Any]]:
    """REST bodies of the chunk's rows; `Rel.Field` columns become nested relationship objects."""
    if operation in ("delete", "hardDelete"):
        return [{"Id": i} for i in mapped.frame["Id"].astype(object)]
    out = []
    for rec in mapped.records():
        for name in [k for k in rec if "." in k]:
            value = rec.pop(name)
            rel, field = name.split(".", 1)
            if value is not None:
                rec[rel] = {field: value}
        out.append(rec)
    return out


class RestSink:
    """Writes each chunk as it comes; `submit` returns the chunk's Outcome at once."""

    api = "rest"

    def __init__(self, client: SalesforceClient, mapping: Mapping, journal: Journal, *, threads: int = THREADS,
                 lock_backoff: float = 1.0, heartbeat: Callable[[], None] | None = None) -> None:
        self.client = client
        self.mapping = mapping
        self.journal = journal
        self.threads = threads
        self.lock_backoff = lock_backoff
        self.heartbeat = heartbeat or (lambda: None)
        self.calls = 0

    def submit(self, index: int, mapped: MappedChunk) -> list[Outcome]:
        records = rest_records(mapped, self.mapping.operation)
        log = CallLog(self.journal, f"rest/{index:06d}", len(records))
        if log.marks:
            settle_sent(self.client, self.mapping, records, log)
        self._send_all(records, log.batches(), self.threads, log)
        self._retry_locked(records, log)
        return [Outcome(index, mapped, log.results)]

    def finish(self) -> list[Outcome]:
        return []

    def drain(self) -> list[Outcome]:
        return []

    def done(self, index: int) -> None:
        """The chunk is journaled done: its per-call results need not stay in the journal."""
        if self.journal.get(f"rest/{index:06d}") is not None:
            self.journal.put(f"rest/{index:06d}", None)

    def close(self) -> None:
        pass

    def _take(self, queue: Iterator[np.ndarray], k: int, log: CallLog) -> list[np.ndarray]:
        """The next `k` batches, marked in flight (and, for an insert, sent) in `log`; the caller saves it."""
        batches = list(islice(queue, k))
        if batches:
            mark = stamp(self.client) if self.mapping.operation == "insert" else None
            for rows in batches:
                log.fly(rows, mark)
        return batches

    def _send_all(self, records: list[dict[str, Any]], batches: list[np.ndarray], threads: int, log: CallLog) -> None:
        """Send the batches, at most `threads` on the wire; record each as it lands; re-raise the first failure.

        Recording runs in this thread, and a batch is sent only after the put that records a finished one
        and marks the new one: a crash (or a raising put) leaves at most the marked calls unrecorded.
        """
        if not batches:
            return
        queue = iter(batches)
        running: dict[Future[RowResults], np.ndarray] = {}
        error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            def send(rows_list: list[np.ndarray]) -> None:
                for rows in rows_list:
                    running[pool.submit(self._call, [records[i] for i in rows])] = rows
            first = self._take(queue, max(1, threads), log)
            if log.marks:
                log.save()  # the marks are durable before the calls leave
            send(first)
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    rows = running.pop(fut)
                    if fut.exception() is not None:
                        error = error or fut.exception()  # its mark stays: it may have reached Salesforce
                        continue
                    following = self._take(queue, 1, log) if error is None else []
                    log.land(rows, fut.result())  # calls already on the wire keep their results
                    log.save()
                    self.heartbeat()
                    send(following)
        if error is not None:
            raise error

    def _call(self, records: list[dict[str, Any]]) -> RowResults:
        m = self.mapping
        self.calls += 1
        items = self.client.collection(m.operation, m.object, records, m.match_key if m.operation == "upsert" else None)
        out = RowResults.empty(len(records))
        for i, item in enumerate(items):
            out.ids[i] = item.get("id") or records[i].get("Id")
            out.created[i] = bool(item.get("created", m.operation == "insert")) and bool(item.get("success"))
            out.errors[i] = "" if item.get("success") else collection_error(item)
        return out

    def _retry_locked(self, records: list[dict[str, Any]], log: CallLog) -> None:
        for attempt in range(LOCK_ROUNDS):
            locked = np.flatnonzero(log.results.locked())
            if not len(locked):
                return
            time.sleep(self.lock_backoff * 2 ** attempt)
            serial = attempt == LOCK_ROUNDS - 1
            batches = [locked[i:i + BATCH] for i in range(0, len(locked), BATCH)]
            self._send_all(records, batches, 1 if serial else self.threads, log)
