"""Bulk2Sink: Bulk API 2.0 ingest jobs fed by a streaming upload, adaptive polling, results per chunk.

Chunks become Arrow rows with their exact CSV size as they arrive and flow through a bounded queue into
the job's single PUT (a generator body in a background thread, which also writes their CSV bytes), so
memory stays flat and mapping overlaps both the bytes and the upload. A job
takes chunks until the next would pass `max_job_bytes` (100 MB raw: Salesforce allows 150 MB base64);
then its upload completes and a new job starts while the old one runs.

Journal: `bulk2/open` = {id, first} as soon as a job exists; `bulk2/job/<first chunk>` = {id, chunks}
once its upload is in, BEFORE UploadComplete. On resume a job with an entry is waited for (or closed),
never created again; an open job without one never reached Salesforce's processing and is aborted.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from backend.errors import FatalSalesforceError, RetriableSalesforceError
from backend.pipeline.mapping import MappedChunk, Mapping
from backend.pipeline.parts import Parked
from backend.pipeline.sinks.base import Journal, Outcome, RowResults
from backend.pipeline.sinks.bulk2_collect import Collector
from backend.pipeline.sinks.bulk_csv import CsvRows, csv_rows, row_keys, upload_frame
from backend.salesforce.client import SalesforceClient, SessionExpired

MAX_JOB_BYTES = 100_000_000
# Smaller jobs let Salesforce process one while the next uploads and the one before returns results; the
# rows in flight (row keys, compressed source values for the success file, the result file being matched)
# are held for a few jobs, so the job size sets the peak memory: 50k rows kept a 300k-row import 45 MB lower.
MAX_JOB_ROWS = 50_000
# Uploaded jobs not yet finished when the next one starts. With one, Salesforce sat idle while the results
# of the job before were fetched and matched (a 1M-row import: 60 s; with two: 52 s, as fast as one
# simple-salesforce job; a waiting job costs only its keys and parked chunks, a few MB).
MAX_WAITING = 2
_END = object()


def _encode(item: tuple[CsvRows, bool]) -> bytes:
    """A feed item's bytes, written in the upload thread: (rows, whether the job's header goes first)."""
    rows, header = item
    return rows.encode(header)


class _Kept:
    """A compressed copy of what an upload sent, so a refused PUT can be sent again.

    LZ4 (through pyarrow), piece by piece: a quarter of zlib's CPU for every byte uploaded, which the
    common case (no replay) pays in full.
    """

    def __init__(self) -> None:
        self._pieces: list[tuple[int, bytes]] = []

    def add(self, data: bytes) -> None:
        self._pieces.append((len(data), pa.compress(data, codec="lz4", asbytes=True)))

    def pieces(self) -> Iterator[bytes]:
        for size, packed in self._pieces:
            yield pa.decompress(packed, decompressed_size=size, codec="lz4", asbytes=True)


@dataclass
class _Job:
    id: str
    first: int
    chunks: list[int] = field(default_factory=list)
    keys: dict[int, np.ndarray] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    size: int = 0
    rows: int = 0
    results: dict[int, RowResults] | None = None
    done: threading.Event | None = None
    failure: BaseException | None = None
    feed: queue.Queue[Any] | None = None
    thread: threading.Thread | None = None
    error: BaseException | None = None
    cancelled: bool = False
    drained: bool = False


class Bulk2Sink:
    api = "bulk2"

    def __init__(self, client: SalesforceClient, mapping: Mapping, journal: Journal, *,
                 heartbeat: Callable[[], None] | None = None, max_job_bytes: int = MAX_JOB_BYTES,
                 max_job_rows: int = MAX_JOB_ROWS, poll: tuple[float, float] = (0.25, 5.0),
                 lock_backoff: float = 1.0, threads: int = 4) -> None:
        self.client, self.mapping, self.journal = client, mapping, journal
        self.heartbeat = heartbeat or (lambda: None)
        self.max_job_bytes, self.max_job_rows = max_job_bytes, max_job_rows
        self.poll, self.lock_backoff = poll, lock_backoff
        self.open: _Job | None = None       # taking chunks
        self.resumed: _Job | None = None    # uploaded before a restart: collecting its chunks again
        self.order: deque[tuple[int, Parked, _Job | None]] = deque()
        self.jobs_created = 0
        self._early: list[Outcome] = []  # outcomes that came in while waiting to start a job
        self.collector = Collector(client, mapping, poll, lock_backoff)
        self._abort_stale()

    # ---- the sink interface ------------------------------------------------------------------------
    def submit(self, index: int, mapped: MappedChunk) -> list[Outcome]:
        frame = upload_frame(mapped, self.mapping.operation) if len(mapped) else None
        job = self._resumed_job(index)
        if job is None and frame is not None:
            rows = csv_rows(frame)
            job = self._job_for(index, rows.size, len(frame), list(frame.columns))
            job.feed.put((rows, not job.chunks))  # type: ignore[union-attr]  # the upload thread writes the bytes
            job.size += rows.size
            job.rows += len(frame)
            job.chunks.append(index)
        if job is not None and frame is not None:
            job.keys[index] = row_keys(frame)
            job.columns = list(frame.columns)
        self.order.append((index, Parked.of(mapped), job))
        if job is not None and job is self.resumed and index == job.chunks[-1]:
            self._complete_upload(job, uploaded=True)
            self.resumed = None
        early, self._early = self._early, []
        return early + self._ready(block=False)

    def _throttle(self, out: list[Outcome]) -> list[Outcome]:
        """Before a new job: at most MAX_WAITING uploaded jobs unfinished. Reading runs no further ahead of
        Salesforce than that, so memory holds a few jobs' rows, not the whole file; an upload never stalls."""
        while True:
            jobs = {id(j): j for _, _, j in self.order if j is not None and j.done is not None}
            busy = [j for j in jobs.values() if not j.done.is_set()]  # type: ignore[union-attr]
            if len(busy) <= MAX_WAITING:
                return out
            while not busy[0].done.wait(1.0):  # type: ignore[union-attr]
                self.heartbeat()
            out += self._ready(block=False)

    def finish(self) -> list[Outcome]:
        if self.open is not None:
            self._end_upload(self.open)
        return self._ready(block=True)

    def drain(self) -> list[Outcome]:
        """Stopping: abort the job still uploading, wait for the jobs Salesforce already has."""
        aborted = self.open
        self.close()
        kept: deque[tuple[int, Parked, _Job | None]] = deque()
        for entry in self.order:
            if entry[2] is not None and entry[2] in (aborted, self.resumed):
                break  # later chunks must wait for these, which will be sent again by the next run
            kept.append(entry)
        self.order, self.resumed = kept, None
        return self._ready(block=True)

    def done(self, index: int) -> None:
        pass

    def close(self) -> None:
        """Stop without finishing: abort the job still uploading (nothing of it was processed)."""
        self.collector.stop()
        job, self.open = self.open, None
        if job is None:
            return
        job.feed.put(None)  # type: ignore[union-attr]  # makes the body generator raise: the PUT fails
        job.thread.join(timeout=60)  # type: ignore[union-attr]
        try:
            self.client.bulk2_set_state(job.id, "Aborted")
            self.journal.put("bulk2/open", None)
        except RetriableSalesforceError:
            pass  # the next run aborts it (bulk2/open is still set)

    # ---- jobs ---------------------------------------------------------------------------------------
    def _abort_stale(self) -> None:
        stale = self.journal.get("bulk2/open")
        if not stale:
            return
        done = self.journal.get(f"bulk2/job/{stale['first']:06d}")
        if not done or done.get("id") != stale["id"]:
            try:
                if self.client.bulk2_job(stale["id"]).get("state") == "Open":
                    self.client.bulk2_set_state(stale["id"], "Aborted")
            except FatalSalesforceError as err:
                if isinstance(err, SessionExpired):
                    raise
                # gone already (deleted, or older than Salesforce keeps jobs): nothing left to abort
        self.journal.put("bulk2/open", None)

    def _resumed_job(self, index: int) -> _Job | None:
        if self.resumed is None:
            known = self.journal.get(f"bulk2/job/{index:06d}")
            if known is not None:
                self.resumed = _Job(known["id"], index, list(known["chunks"]))
        return self.resumed if self.resumed is not None and index in self.resumed.chunks else None

    def _job_for(self, index: int, size: int, rows: int, columns: list[str]) -> _Job:
        job = self.open
        full = job is not None and (job.size + size > self.max_job_bytes or job.rows + rows > self.max_job_rows)
        if job is not None and job.chunks and (full or job.columns != columns):
            self._end_upload(job)
            job = None
        if job is None:
            self._early += self._throttle(self._ready(block=False))
            job = self._create_job(index)
        return job

    def _create_job(self, first: int) -> _Job:
        m = self.mapping
        info = self.client.bulk2_create_job(m.object, m.operation, m.match_key if m.operation == "upsert" else None)
        self.jobs_created += 1
        self.journal.put("bulk2/open", {"id": info["id"], "first": first})
        job = _Job(info["id"], first, feed=queue.Queue(maxsize=4))
        self.open = job
        job.thread = threading.Thread(target=self._upload, args=(job,), name=f"bulk2-upload-{job.id}", daemon=True)
        job.thread.start()
        return job

    def _upload(self, job: _Job) -> None:
        """Stream the queue into the PUT, keeping a compressed copy so a refused PUT can be sent again."""
        kept = _Kept()

        def live() -> Iterator[bytes]:
            while (item := job.feed.get()) is not _END:  # type: ignore[union-attr]
                if item is None:
                    job.cancelled = True
                    raise RetriableSalesforceError("The upload was stopped.")
                data = _encode(item)
                kept.add(data)
                yield data
            job.drained = True
        token = self.client.access_token
        try:
            self.client.bulk2_upload(job.id, live())
        except SessionExpired as err:
            self._replay(job, err, kept, token)
        except RetriableSalesforceError as err:
            if job.cancelled:
                job.error = err
            else:
                self._replay(job, err, kept, None)
        except BaseException as err:  # surfaced to the main thread by _end_upload
            job.error = err
            self._drain(job, kept)

    def _replay(self, job: _Job, err: BaseException, kept: _Kept, token: str | None) -> None:
        """The PUT was refused before Salesforce took the data (401, lost connection): send it once more."""
        self._drain(job, kept)
        if job.cancelled:
            job.error = err
            return
        for _ in range(2):
            if token is not None and not self.client._refresh(token):
                job.error = err
                return
            token = self.client.access_token
            try:
                self.client.bulk2_upload(job.id, kept.pieces())
                return
            except SessionExpired as expired:
                err = expired  # the token ran out (again) while we were sending: renew and retry once
            except BaseException as second:
                job.error = second
                return
        job.error = err

    @staticmethod
    def _drain(job: _Job, kept: _Kept) -> None:
        """Take the rest of the chunks (the producer must never block on a dead upload)."""
        while not job.cancelled and not job.drained:
            item = job.feed.get()  # type: ignore[union-attr]
            if item is _END:
                job.drained = True
            elif item is None:
                job.cancelled = True
            else:
                kept.add(_encode(item))

    def _end_upload(self, job: _Job) -> None:
        job.feed.put(_END)  # type: ignore[union-attr]
        job.thread.join()  # type: ignore[union-attr]
        self.open = None
        if job.error is not None:
            self.client.bulk2_set_state(job.id, "Aborted")
            self.journal.put("bulk2/open", None)
            raise job.error
        job.first = job.chunks[0]
        self._complete_upload(job, uploaded=False)

    def _complete_upload(self, job: _Job, *, uploaded: bool) -> None:
        if not uploaded:
            self.journal.put(f"bulk2/job/{job.first:06d}", {"id": job.id, "chunks": job.chunks})
        if self.client.bulk2_job(job.id).get("state") == "Open":
            self.client.bulk2_set_state(job.id, "UploadComplete")
        if not uploaded:
            self.journal.put("bulk2/open", None)
        self.collector.add(job)

    # ---- results ------------------------------------------------------------------------------------
    def _ready(self, block: bool) -> list[Outcome]:
        """Outcomes of finished chunks, in chunk order; waits for the collector when `block`."""
        out: list[Outcome] = []
        while self.order:
            index, parked, job = self.order[0]
            if job is not None and job.results is None:
                if job is self.open or job is self.resumed or job.done is None:
                    break
                while block and not job.done.wait(1.0):
                    self.heartbeat()
                if not job.done.is_set():
                    break
                if job.failure is not None:
                    raise job.failure
            self.order.popleft()
            results = job.results.pop(index) if job is not None else RowResults.empty(0)  # type: ignore
            out.append(Outcome(index, parked.unpark(), results))
        return out
