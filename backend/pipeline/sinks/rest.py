"""RestSink: sObject Collections, 200 records per call, a few calls in parallel threads.

Each 200-row call's results are journaled as soon as that call returns (key `rest/<chunk>`), and the
next call starts only after, so a run stopped mid-chunk (REQUEST_LIMIT_EXCEEDED, a crash) sends again
at most the calls that were on the wire. Rows failing with UNABLE_TO_LOCK_ROW are sent again with
backoff, the last round one call at a time; their new results are journaled the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from backend.pipeline.mapping import MappedChunk, Mapping
from backend.pipeline.sinks.base import Journal, Outcome, RowResults, collection_error
from backend.salesforce.client import SalesforceClient

BATCH = 200
THREADS = 4
LOCK_ROUNDS = 3


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
        key = f"rest/{index:06d}"
        done: dict[str, list[list[Any]]] = self.journal.get(key) or {}  # call number -> its rows' results
        results = RowResults.empty(len(records))
        for b, rows in done.items():
            start = int(b) * BATCH
            part = RowResults.from_lists(rows)
            self._place(results, np.arange(start, start + len(rows)), part)
        todo = [b for b in range(0, len(records), BATCH) if str(b // BATCH) not in done]
        batches = [np.arange(b, min(b + BATCH, len(records))) for b in todo]

        def record(rows: np.ndarray, part: RowResults) -> None:
            self._place(results, rows, part)
            for b in {int(r) // BATCH for r in rows}:  # a lock retry's rows may span several calls
                call = slice(b * BATCH, (b + 1) * BATCH)
                done[str(b)] = RowResults(results.ids[call], results.created[call], results.errors[call]).to_lists()
            self.journal.put(key, done)
            self.heartbeat()
        self._send_all(records, batches, self.threads, record)
        self._retry_locked(records, results, record)
        return [Outcome(index, mapped, results)]

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

    @staticmethod
    def _place(results: RowResults, rows: np.ndarray, part: RowResults) -> None:
        results.ids[rows], results.created[rows], results.errors[rows] = part.ids, part.created, part.errors

    def _send_all(self, records: list[dict[str, Any]], batches: list[np.ndarray], threads: int, record: Any) -> None:
        """Send the batches, at most `threads` on the wire; record each as it lands; re-raise the first failure.

        `record` runs in this thread, and a batch is sent only after a finished one is recorded: a crash
        (or a raising `record`) leaves at most the calls still on the wire unrecorded.
        """
        if not batches:
            return
        queue = iter(batches)
        running: dict[Future[RowResults], np.ndarray] = {}
        error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            def send_next() -> None:
                rows = next(queue, None)
                if rows is not None:
                    running[pool.submit(self._call, [records[i] for i in rows])] = rows
            for _ in range(max(1, threads)):
                send_next()
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    rows = running.pop(fut)
                    if fut.exception() is not None:
                        error = error or fut.exception()
                        continue
                    record(rows, fut.result())  # calls already on the wire keep their results
                    if error is None:
                        send_next()
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

    def _retry_locked(self, records: list[dict[str, Any]], results: RowResults, record: Any) -> None:
        for attempt in range(LOCK_ROUNDS):
            locked = np.flatnonzero(results.locked())
            if not len(locked):
                return
            time.sleep(self.lock_backoff * 2 ** attempt)
            serial = attempt == LOCK_ROUNDS - 1
            batches = [locked[i:i + BATCH] for i in range(0, len(locked), BATCH)]
            self._send_all(records, batches, 1 if serial else self.threads, record)
