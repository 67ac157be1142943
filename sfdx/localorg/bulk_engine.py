"""Bulk row processing shared by Bulk API 2.0 and 1.0: a per-org background worker and compact results.

A `RowBatch` keeps its upload zlib-compressed and, per row, one status byte plus the record id; only
failed rows keep a message. Result files are re-rendered from the upload on request, so a finished job
costs a few bytes a row rather than a copy of its data.
"""

from __future__ import annotations

import gc
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from .bulk2_csv import Upload, bulk_error
from .dml import apply_row
from .errors import SfError
from .locking import Holder, LockTracker
from .values import format_datetime

if TYPE_CHECKING:
    from .org import Org
    from .schema import SObjectType

UNPROCESSED, CREATED, UPDATED, FAILED = 0, 1, 2, 3
INTERNAL_BATCH = 10_000   # Bulk 2.0 splits a job into batches of 10,000 records (BulkGuide "Limits")
LOCK_SLICE = 500          # rows written per hold of the store lock, so REST calls interleave
_NO_ID = b"\0" * 18
GC_PAUSE_BYTES = 1 << 20  # uploads above 1 MB write with the cyclic GC paused


class RowBatch:
    """One uploaded CSV and the outcome of each of its rows."""

    def __init__(self, data: bytes, delimiter: str = ",") -> None:
        self._data = zlib.compress(data, 1)
        self.size = len(data)
        self.delimiter = delimiter
        self.kind = "csv"          # or "json": a JSON array of records (Bulk 1.0 JSON jobs)
        self.statuses = bytearray()
        self._ids = bytearray()
        self._packed_ids: bytes | None = None
        self.errors: dict[int, str] = {}
        self._packed_errors: bytes | None = None
        self.processed = 0
        self.failed = 0
        self.error_message: str | None = None   # the whole batch failed (job state Failed)
        self.millis = 0

    def data(self) -> bytes:
        return zlib.decompress(self._data)

    def add(self, status: int, rid: str | None, error: str | None = None) -> None:
        self.statuses.append(status)
        self._ids += rid.encode("ascii") if rid else _NO_ID
        self.processed += 1
        if error is not None:
            self.errors[len(self.statuses) - 1] = error
            self.failed += 1

    def freeze(self) -> None:
        """Compress the ids and messages once processing is over."""
        self._packed_ids = zlib.compress(bytes(self._ids), 1)
        self._ids = bytearray()
        self._packed_errors = zlib.compress("\n".join(f"{i}\t{m}" for i, m in self.errors.items()).encode(), 1)
        self.errors = {}

    def id_text(self) -> str:
        """The record ids, 18 characters a row in upload order (NULs for a row without one)."""
        return (zlib.decompress(self._packed_ids) if self._packed_ids is not None else bytes(self._ids)).decode("ascii")

    def error_map(self) -> dict[int, str]:
        """Row index -> error message, for the failed rows."""
        if self._packed_errors is None:
            return self.errors
        text = zlib.decompress(self._packed_errors).decode()
        return {int(i): m for i, _, m in (line.partition("\t") for line in text.split("\n") if line)}

    def outcomes(self) -> Iterator[tuple[list[str], int, str, str]]:
        """(row, status, id, error) for every data row of the upload, in upload order."""
        ids, errors, statuses = self.id_text(), self.error_map(), self.statuses
        if self.kind == "json":
            source: Iterator[list[str]] = ([] for _ in _json_records(self.data()))
        else:
            source = (r for r in Upload(self.data(), self.delimiter).rows() if r)
        for i, row in enumerate(source):
            status = statuses[i] if i < len(statuses) else UNPROCESSED
            rid = ids[i * 18:(i + 1) * 18] if status != UNPROCESSED else ""
            yield row, status, rid.strip("\0"), errors.get(i, "")


_gc_lock = threading.Lock()
_gc_pauses = 0


@contextmanager
def _gc_paused(wanted: bool) -> Iterator[None]:
    """Pause the cyclic GC while any big batch is being written (counted, as workers of several orgs run).

    A million new long-lived records make the collector rescan the growing heap again and again; records
    hold no reference cycles, and freezing them afterwards keeps later collections from rescanning them.
    """
    global _gc_pauses
    if not wanted:
        yield
        return
    with _gc_lock:
        _gc_pauses += 1
        gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0:
                gc.enable()
                gc.freeze()


def header_error(obj: SObjectType, op: str, header: list[str], ext_id: str | None) -> str | None:
    """The job-level failure Salesforce reports for a bad header row, or None."""
    for col in header:
        if obj.field(col) is None and not _relationship_column(obj, col):
            return f"InvalidBatch : Field name not found : {col}"
    names = {c.lower() for c in header}
    if op in ("update", "delete", "hardDelete") and "id" not in names:
        return "InvalidBatch : Field name not found : Id"
    if op == "upsert" and (ext_id or "Id").lower() not in names:
        return f"InvalidBatch : Field name not found : {ext_id}"
    return None


def _relationship_column(obj: SObjectType, col: str) -> bool:
    rel, dot, key = col.partition(".")
    return bool(dot and key) and obj.relationship(rel.rpartition(":")[2]) is not None


class LockPlan:
    """How rows map to parallel units: a fixed unit (a Bulk 1.0 batch) or internal batches of 10,000.

    `overlapping` lists the plans of jobs that were in flight when this one was closed: parents they
    touched are locked for this job too (two Bulk 2.0 jobs running at the same time). `holder` registers
    the parents with the org's LockRegistry while the batch runs, so concurrent REST writes collide.
    """

    def __init__(self, unit: int | None = None, tracker: LockTracker | None = None) -> None:
        self.unit = unit
        self.tracker = tracker
        self.overlapping: list[LockPlan] = []
        self.holder: Holder | None = None

    def foreign_owners(self) -> list[dict[str, int]]:
        return [p.tracker.owner for p in self.overlapping if p.tracker is not None]


def process(org: Org, batch: RowBatch, op: str, obj_name: str, ext_id: str | None, user: str | None,
            plan: LockPlan | None, aborted: Callable[[], bool]) -> None:
    """Write the batch's rows through the store (validation included) and record each outcome."""
    started = time.monotonic()
    try:
        if org.knobs.fail_bulk_jobs:
            batch.error_message = org.knobs.fail_bulk_message
            return
        obj = org.store.sobject(obj_name)
        if batch.kind == "json":
            records = _json_records(batch.data())
            header = list(dict.fromkeys(k for r in records for k in r if k != "attributes"))
            rows: Iterator[dict[str, Any]] = iter(records)
        else:
            up = Upload(batch.data(), batch.delimiter)
            header = [f.name if (f := obj.field(c)) is not None else c for c in up.header]
            rows = (dict(zip(header, r, strict=False)) for r in up.rows() if r)
        batch.error_message = header_error(obj, op, header, ext_id)
        if batch.error_message is not None:
            return
        if plan is not None and org.knobs.lock_rate > 0:
            if plan.tracker is None:
                plan.tracker = LockTracker(org.store, obj, header, op, org.knobs.lock_rate, org.knobs.lock_seed)
            plan.holder = org.locks.holder()
        # Millions of new long-lived records make the cyclic GC rescan the growing heap again and again;
        # records hold no cycles, so pause it while writing and freeze what survived afterwards.
        with _gc_paused(batch.size > GC_PAUSE_BYTES):
            _write_rows(org, batch, op, obj.name, header, rows, ext_id, user, plan, aborted, batch.kind == "csv")
    finally:
        if plan is not None and plan.holder is not None:
            plan.holder.release()   # the batch is over: REST writes may lock its parents again
            plan.holder = None
        batch.millis = int((time.monotonic() - started) * 1000)
        batch.freeze()


def _parent_columns(org: Org, obj: SObjectType, header: list[str]) -> list[tuple[str, str, Any, bool]]:
    """(column, reference field, parent key index, case sensitive) for `Account.Ext__c`-style text keys."""
    out = []
    for col in header:
        rel, dot, key = col.partition(".")
        ref = obj.relationship(rel) if dot and ":" not in rel else None
        if ref is None or ref.name in header or len(ref.reference_to) != 1:
            continue
        table = org.store.table(ref.reference_to[0])
        f = table.obj.field(key)
        if f is not None and f.name in table.indexes and f.type in ("string", "email"):
            out.append((col, ref.name, table.indexes[f.name], f.case_sensitive))
    return out


def _swap_parent_keys(values: dict[str, str], columns: list[tuple[str, str, Any, bool]]) -> None:
    """Replace a parent key by the parent's Id when exactly one live parent has it (a fast path only:
    misses stay as they are, so the store reports them with Salesforce's message)."""
    for col, ref, index, case_sensitive in columns:
        raw = values.get(col)
        if raw:
            found = index.get(raw if case_sensitive else raw.lower())
            if found is not None and len(found) == 1:
                del values[col]
                values[ref] = found[0]


def _json_records(data: bytes) -> list[dict[str, Any]]:
    records = json.loads(data.decode("utf-8") or "[]")
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


def _write_rows(org: Org, batch: RowBatch, op: str, obj: str, header: list[str], rows: Iterator[dict[str, Any]],
                ext_id: str | None, user: str | None, plan: LockPlan | None, aborted: Callable[[], bool],
                csv: bool = True) -> None:
    store = org.store
    foreign = plan.foreign_owners() if plan is not None else []
    n = 0
    while not aborted():
        part = list(islice(rows, LOCK_SLICE))
        if not part:
            return
        # Lock verdicts come before the write lock: the slice's parents count as held by this batch
        # as soon as it reaches them, whoever holds the store at that moment.
        verdicts = _lock_verdicts(plan, part, n, foreign)
        now = format_datetime(datetime.now(UTC))
        with store.lock:
            parents = _parent_columns(org, store.sobject(obj), header)  # per slice: indexes may be rebuilt
            for values, err in zip(part, verdicts, strict=True):
                n += 1
                if err is not None:
                    batch.add(FAILED, values.get("Id") if op != "insert" else None, bulk_error(err))
                    continue
                if parents:
                    _swap_parent_keys(values, parents)
                _write_row(store, batch, op, obj, values, ext_id, csv, user, now)


def _lock_verdicts(plan: LockPlan | None, part: list[dict[str, Any]], n: int,
                   foreign: list[dict[str, int]]) -> list[SfError | None]:
    """UNABLE_TO_LOCK_ROW or None for each row of the slice (row numbers from `n`)."""
    tracker = plan.tracker if plan is not None else None
    if plan is None or tracker is None:
        return [None] * len(part)
    out = []
    for row_no, values in enumerate(part, n):
        unit = plan.unit if plan.unit is not None else row_no // INTERNAL_BATCH
        out.append(tracker.check(unit, row_no, values, foreign, plan.holder))
    return out


def _write_row(store: Any, batch: RowBatch, op: str, obj: str, values: dict[str, Any], ext_id: str | None,
               csv: bool, user: str | None, now: str) -> None:
    if op == "insert":   # the common case, without apply_row's dispatch
        try:
            rid = store.insert(obj, values, csv, user, now)
        except SfError as err:
            batch.add(FAILED, None, bulk_error(err))
            return
        batch.add(CREATED, rid)
        return
    res = apply_row(store, op, obj, values, ext_id, csv, user, now)
    if res.success:
        batch.add(CREATED if res.created else UPDATED, res.id)
    else:
        batch.add(FAILED, res.id, bulk_error(res.errors[0]))
