"""Bulk API 2.0 job models: ingest jobs (one upload, async processing) and query jobs (paged CSV results)."""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Iterator
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

from .bulk2_csv import DELIMITERS, LINE_ENDINGS, Upload, query_value, quote, quote_all, result_chunks, whole_records
from .bulk_engine import CREATED, FAILED, UNPROCESSED, UPDATED, LockPlan, RowBatch, process
from .bulk_worker import now_iso
from .soql_exec import Executor
from .soql_parser import FieldPath, parse

if TYPE_CHECKING:
    from .org import Org

TERMINAL = ("JobComplete", "Failed", "Aborted")
QUERY_BLOCK = 10_000   # query result rows per compressed block
RESULT_PREFIX = {"success": ["sf__Id", "sf__Created"], "failed": ["sf__Id", "sf__Error"], "unprocessed": []}


class Job:
    """What ingest and query jobs share: identity, dialect, state and JobInfo JSON."""

    job_type = "V2Ingest"

    def __init__(self, org: Org, operation: str, obj: str, user: str, api_version: str,
                 delimiter: str = "COMMA", line_ending: str = "LF") -> None:
        self.org = org
        self.id = org.ids.new("750")
        self.operation = operation
        self.object = obj
        self.user = user
        self.api_version = float(api_version)
        self.created = self.modstamp = now_iso()
        self.state = "Open"
        self.column_delimiter = delimiter
        self.line_ending = line_ending
        self.error_message: str | None = None
        self.abort_requested = threading.Event()
        self.millis = 0

    @property
    def delimiter(self) -> str:
        return DELIMITERS[self.column_delimiter]

    @property
    def eol(self) -> str:
        return LINE_ENDINGS[self.line_ending]

    def set_state(self, state: str) -> None:
        self.state = state
        self.modstamp = now_iso()

    def head(self) -> dict[str, Any]:
        return {"id": self.id, "operation": self.operation, "object": self.object, "createdById": self.user,
                "createdDate": self.created, "systemModstamp": self.modstamp, "state": self.state}

    def counters(self) -> dict[str, Any]:
        return {}

    def info(self, full: bool = True, content_url: bool = True) -> dict[str, Any]:
        """JobInfo in Salesforce's key order; `full` adds jobType and the counters."""
        out = self.head()
        out.update(self.extra_keys())
        out.update(concurrencyMode="Parallel", contentType="CSV", apiVersion=self.api_version)
        if full:
            out["jobType"] = self.job_type
        if content_url and self.state == "Open" and self.job_type == "V2Ingest":
            out["contentUrl"] = f"services/data/v{self.api_version:.1f}/jobs/ingest/{self.id}/batches"
        out.update(lineEnding=self.line_ending, columnDelimiter=self.column_delimiter)
        if full:
            out.update(self.counters())
            if self.error_message:
                out["errorMessage"] = self.error_message
        return out

    def extra_keys(self) -> dict[str, Any]:
        return {}


class IngestJob(Job):
    """insert / update / upsert / delete / hardDelete of one object from exactly one CSV upload."""

    def __init__(self, *args: Any, ext_id: str | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.ext_id = ext_id
        self.batch: RowBatch | None = None
        self.uploads = 0
        self.plan: LockPlan | None = LockPlan()

    def extra_keys(self) -> dict[str, Any]:
        return {"externalIdFieldName": self.ext_id} if self.operation == "upsert" else {}

    def close(self, jobs: list[Job]) -> None:
        """UploadComplete; jobs still queued or running now count as running alongside this one."""
        self.set_state("UploadComplete")
        if self.plan is not None:
            self.plan.overlapping = [j.plan for j in jobs if isinstance(j, IngestJob) and j is not self
                                     and j.plan is not None and j.state in ("UploadComplete", "InProgress")]

    def counters(self) -> dict[str, Any]:
        b = self.batch
        return {"numberRecordsProcessed": b.processed if b else 0, "numberRecordsFailed": b.failed if b else 0,
                "retries": 0, "totalProcessingTime": self.millis, "apiActiveProcessingTime": self.millis,
                "apexProcessingTime": 0}

    def run(self) -> None:
        """Worker entry point: process the upload unless the job was aborted while queued."""
        if self.abort_requested.is_set():
            self.plan = None
            return
        self.set_state("InProgress")
        batch = self.batch or RowBatch(b"", self.delimiter)
        self.batch = batch
        op = {"harddelete": "hardDelete"}.get(self.operation.lower(), self.operation)
        process(self.org, batch, op, self.object, self.ext_id, self.user, self.plan,
                self.abort_requested.is_set)
        if self.plan is not None:
            self.plan.overlapping = []
        self.plan = None   # later overlapping jobs keep their own reference while they need it
        self.millis = batch.millis
        if self.abort_requested.is_set():
            self.set_state("Aborted")
        elif batch.error_message is not None:
            self.error_message = batch.error_message
            self.set_state("Failed")
        else:
            self.set_state("JobComplete")

    def result_chunks(self, kind: str) -> Iterator[bytes]:
        """successfulResults / failedResults / unprocessedrecords as pieces of CSV."""
        if self.batch is None:
            return iter(())
        batch = self.batch
        data = batch.data()
        whole = whole_records(data.decode("utf-8-sig", "replace"), batch.delimiter) if batch.kind == "csv" else None
        return self._csv_result_chunks(kind, data) if whole is None else self._line_result_chunks(kind, *whole)

    def _csv_result_chunks(self, kind: str, data: bytes) -> Iterator[bytes]:
        """`result_chunks` by reading every row with csv.reader and writing it with csv.writer."""
        assert self.batch is not None
        batch, delim, eol = self.batch, self.delimiter, self.eol
        v53 = self.api_version >= 53
        raw_header = Upload(data[:65536], batch.delimiter).raw_header

        def rows() -> Iterator[tuple[list[str], list[str]]]:
            for row, status, rid, error in batch.outcomes():
                if kind == "success" and status in (CREATED, UPDATED):
                    yield [rid, "true" if status == CREATED else "false"], row
                elif kind == "failed" and status == FAILED:
                    yield [rid if v53 else "", error], row
                elif kind == "unprocessed" and status == UNPROCESSED:
                    yield [], row
        return result_chunks(RESULT_PREFIX[kind], raw_header, rows(), delim, eol)

    def _line_result_chunks(self, kind: str, header: str, records: list[str]) -> Iterator[bytes]:
        """`result_chunks` a line at a time (see `whole_records`): the same bytes, ~64 KB pieces.

        The job's delimiter is its upload's (both come from columnDelimiter), so the values keep theirs.
        """
        assert self.batch is not None
        batch, delim, eol = self.batch, self.delimiter, self.eol
        head = delim.join(quote(p) for p in RESULT_PREFIX[kind])
        yield ((head + delim + header if head else header) + eol).encode("utf-8")
        statuses, ids, errors, v53 = batch.statuses, batch.id_text(), batch.error_map(), self.api_version >= 53
        flag = {CREATED: f'"{delim}"true"{delim}', UPDATED: f'"{delim}"false"{delim}'}
        step = 2000   # records per piece: ~64 KB for a dozen short columns, and little memory at a time
        for start in range(0, len(records), step):
            rows = quote_all(records[start:start + step], batch.delimiter)
            marks = chain(statuses[start:start + step], repeat(UNPROCESSED))   # the rest were never processed
            raw = ids[start * 18:(start + step) * 18]
            rids = [raw[i:i + 18].strip("\0") for i in range(0, len(raw), 18)]
            if kind == "success":
                out = [f'"{rid}{flag[s]}{row}{eol}'
                       for row, s, rid in zip(rows, marks, rids, strict=False) if s in flag]
            elif kind == "failed":
                out = [f'"{rid if v53 else ""}"{delim}{quote(errors.get(start + i, ""))}{delim}{row}{eol}'
                       for i, (row, s, rid) in enumerate(zip(rows, marks, rids, strict=False)) if s == FAILED]
            else:
                out = [row + eol for row, s in zip(rows, marks, strict=False) if s == UNPROCESSED]
            if out:
                yield "".join(out).encode("utf-8")


class QueryJob(Job):
    """A Bulk 2.0 query: results rendered once to CSV, kept in compressed blocks, paged by locator."""

    job_type = "V2Query"

    def __init__(self, *args: Any, query: str, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.query = query
        self.state = "UploadComplete"
        self.header = ""
        self.blocks: list[bytes] = []
        self.count = 0
        self.executor = Executor(self.org.store, parse(query), f"/services/data/v{self.api_version:.1f}")
        self.paths = [self.executor.resolve(p) for p in self.executor.q.select if isinstance(p, FieldPath)]

    def counters(self) -> dict[str, Any]:
        return {"numberRecordsProcessed": self.count, "retries": 0, "totalProcessingTime": self.millis,
                "isPkChunkingSupported": True}

    def run(self) -> None:
        if self.abort_requested.is_set():
            return
        started = time.monotonic()
        self.set_state("InProgress")
        if self.org.knobs.fail_bulk_jobs:
            self.error_message = self.org.knobs.fail_bulk_message
            self.set_state("Failed")
            return
        result = self.executor.run(self.operation == "queryAll")
        d = self.delimiter
        self.header = d.join(quote(".".join(p.names)) for p in self.paths) + self.eol
        for start in range(0, len(result), QUERY_BLOCK):
            lines = [d.join(query_value(_dig(r, p.names)) for p in self.paths) + self.eol
                     for r in result.page(start, start + QUERY_BLOCK)]
            self.blocks.append(zlib.compress(json.dumps(lines).encode("utf-8"), 1))
        self.count = len(result)
        self.millis = int((time.monotonic() - started) * 1000)
        self.set_state("Aborted" if self.abort_requested.is_set() else "JobComplete")

    def page(self, start: int, size: int) -> tuple[str, int, int | None]:
        """(CSV text with header, rows in it, next offset or None) for rows [start, start + size)."""
        end = min(self.count, start + size)
        out: list[str] = [self.header]
        i = start
        while i < end:
            block = i // QUERY_BLOCK
            lines = json.loads(zlib.decompress(self.blocks[block]))
            lo = i - block * QUERY_BLOCK
            hi = min(len(lines), end - block * QUERY_BLOCK)
            out.extend(lines[lo:hi])
            i = block * QUERY_BLOCK + hi
        return "".join(out), end - start, end if end < self.count else None


def _dig(item: Any, names: list[str]) -> Any:
    for name in names:
        if not isinstance(item, dict):
            return None
        item = item.get(name)
    return item
