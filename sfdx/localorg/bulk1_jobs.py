"""Bulk API 1.0 jobs and batches: CSV or JSON batches run by the org's bulk worker; XML/JSON renderings.

Serial jobs' batches never collide with each other on record locks; Parallel jobs use one lock tracker
across their batches (see locking.py). Query jobs run their SOQL once per batch and keep the rendered result.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from .bulk2_csv import query_value, quote
from .bulk_engine import CREATED, FAILED, UPDATED, LockPlan, RowBatch, process
from .bulk_worker import bulk_state
from .errors import SfError
from .soql_exec import Executor
from .soql_parser import FieldPath, parse
from .values import to_datetime

if TYPE_CHECKING:
    from .org import Org

NS = "http://www.force.com/2009/06/asyncapi/dataload"
XML_TYPE = "application/xml"
JSON_TYPE = "application/json"


def stamp() -> str:
    """Bulk 1.0 timestamps: 2022-10-20T16:46:32.000Z."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def xml_doc(root: str, items: list[tuple[str, Any]]) -> str:
    """Salesforce's layout: declaration, root with the namespace on its own line, one element a line."""
    body = "".join(f"\n <{k}>{escape(_text(v))}</{k}>" for k, v in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><{root}\n   xmlns="{NS}">{body}\n</{root}>'


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class Bulk1Batch:
    """One batch: its rows (CSV or JSON records, or a SOQL string) and its outcome."""

    def __init__(self, job: Bulk1Job, data: bytes) -> None:
        self.id = job.org.ids.new("751")
        self.job = job
        self.state = "Queued"
        self.state_message: str | None = None
        self.created = self.modstamp = stamp()
        self.rows = RowBatch(data)
        self.millis = 0
        self.query_result: str | list[dict[str, Any]] | None = None
        self.result_id = job.org.ids.new("752")
        self.query_count = 0
        self.created_items: list[tuple[str, Any]] = []

    def set_state(self, state: str, message: str | None = None) -> None:
        self.state, self.modstamp = state, stamp()
        if message is not None:
            self.state_message = message

    def items(self) -> list[tuple[str, Any]]:
        processed = self.query_count if self.job.is_query else self.rows.processed
        out: list[tuple[str, Any]] = [("id", self.id), ("jobId", self.job.id), ("state", self.state)]
        if self.state_message:
            out.append(("stateMessage", self.state_message))
        out += [("createdDate", self.created), ("systemModstamp", self.modstamp),
                ("numberRecordsProcessed", processed), ("numberRecordsFailed", self.rows.failed),
                ("totalProcessingTime", self.millis), ("apiActiveProcessingTime", self.millis),
                ("apexProcessingTime", 0)]
        return out

    def run(self, plan: LockPlan | None) -> None:
        """Worker entry point."""
        if self.job.state == "Aborted":
            self.set_state("NotProcessed")
            return
        self.set_state("InProgress")
        started = time.monotonic()
        try:
            if self.job.is_query:
                self._run_query()
            else:
                process(self.job.org, self.rows, self.job.operation, self.job.object, self.job.ext_id,
                        self.job.user, plan, lambda: self.job.state == "Aborted")
        except SfError as err:
            self.rows.error_message = f"InvalidBatch : Failed to process query: {err.code}: {err.message}"
        self.millis = int((time.monotonic() - started) * 1000)
        if self.rows.error_message is not None:
            self.set_state("Failed", self.rows.error_message)
        else:
            self.set_state("Completed")

    def _run_query(self) -> None:
        org = self.job.org
        if org.knobs.fail_bulk_jobs:
            self.rows.error_message = org.knobs.fail_bulk_message
            return
        ex = Executor(org.store, parse(self.rows.data().decode("utf-8")), f"/services/data/v{self.job.api_version}")
        result = ex.run(self.job.operation == "queryAll")
        self.query_count = len(result)
        paths = [ex.resolve(p) for p in ex.q.select if isinstance(p, FieldPath)]
        if self.job.content_type == "JSON":
            # JSON query results carry dates and datetimes as epoch milliseconds (a recorded real job shows it)
            timed = [p.names for p in paths if p.field.type in ("date", "datetime")]
            self.query_result = [_millis(row, timed) for row in result.rows]
            return
        lines = [",".join(quote(".".join(p.names)) for p in paths) + "\n"]
        for row in result.rows:
            lines.append(",".join(query_value(_dig(row, p.names)) for p in paths) + "\n")
        self.query_result = "".join(lines)

    def csv_results(self) -> Iterator[str]:
        """`"Id","Success","Created","Error"` then one quoted line per row, in upload order."""
        yield '"Id","Success","Created","Error"\n'
        for _row, status, rid, error in self.rows.outcomes():
            ok = status in (CREATED, UPDATED)
            yield ",".join(quote(v) for v in (rid, _text(ok), _text(status == CREATED), error)) + "\n"

    def json_results(self) -> list[dict[str, Any]]:
        out = []
        for _row, status, rid, error in self.rows.outcomes():
            errors = [] if status != FAILED else [_parse_bulk_error(error)]
            out.append({"success": status in (CREATED, UPDATED), "created": status == CREATED,
                        "id": rid or None, "errors": errors})
        return out


def _parse_bulk_error(text: str) -> dict[str, Any]:
    """Back from `CODE:message:f1,f2 --` to {statusCode, message, fields}."""
    head, _, tail = text.rpartition(":")
    code, _, message = head.partition(":")
    fields = [f for f in tail.removesuffix("--").strip().split(",") if f]
    return {"statusCode": code, "message": message, "fields": fields}


def _dig(item: Any, names: list[str]) -> Any:
    for name in names:
        if not isinstance(item, dict):
            return None
        item = item.get(name)
    return item


class Bulk1Job:
    """A Bulk 1.0 job: Open until Closed or Aborted; batches run in the org's bulk worker."""

    def __init__(self, org: Org, operation: str, obj: str, user: str, api_version: str, content_type: str,
                 concurrency: str, ext_id: str | None) -> None:
        self.org = org
        self.id = org.ids.new("750")
        self.operation, self.object, self.user = operation, obj, user
        self.api_version = api_version
        self.content_type = content_type
        self.concurrency = concurrency
        self.ext_id = ext_id
        self.state = "Open"
        self.created = self.modstamp = stamp()
        self.batches: dict[str, Bulk1Batch] = {}
        self.lock = threading.Lock()
        self.plan = LockPlan()   # shared by Parallel batches: who touched which parent first

    @property
    def is_query(self) -> bool:
        return self.operation in ("query", "queryAll")

    def set_state(self, state: str) -> None:
        self.state, self.modstamp = state, stamp()

    def add_batch(self, data: bytes) -> Bulk1Batch:
        batch = Bulk1Batch(self, data)
        if self.content_type == "JSON" and not self.is_query:
            batch.rows.kind = "json"
        with self.lock:
            unit = len(self.batches)
            self.batches[batch.id] = batch
        # Serial batches all count as one unit: they never collide with each other, yet hold their parents
        # against concurrent REST writes while they run.
        plan = LockPlan(0 if self.concurrency == "Serial" else unit, None)
        shared = self.plan

        def run() -> None:
            plan.tracker = shared.tracker
            batch.run(plan)
            if shared.tracker is None:
                shared.tracker = plan.tracker
        batch.created_items = batch.items()  # the 201 answer shows Queued even if the worker is fast
        bulk_state(self.org).worker.submit(run, self.id if self.concurrency == "Serial" else batch.id)
        return batch

    def items(self) -> list[tuple[str, Any]]:
        batches = list(self.batches.values())
        count = {s: sum(1 for b in batches if b.state == s) for s in ("Queued", "InProgress", "Completed",
                                                                      "Failed", "NotProcessed")}
        out: list[tuple[str, Any]] = [
            ("id", self.id), ("operation", self.operation), ("object", self.object), ("createdById", self.user),
            ("createdDate", self.created), ("systemModstamp", self.modstamp), ("state", self.state)]
        if self.ext_id:
            out.append(("externalIdFieldName", self.ext_id))
        out += [("concurrencyMode", self.concurrency), ("contentType", self.content_type),
                ("numberBatchesQueued", count["Queued"]), ("numberBatchesInProgress", count["InProgress"]),
                ("numberBatchesCompleted", count["Completed"]), ("numberBatchesFailed", count["Failed"]),
                ("numberBatchesTotal", len(batches)),
                ("numberRecordsProcessed", sum(b.rows.processed + b.query_count for b in batches)),
                ("numberRetries", 0), ("apiVersion", self.api_version),
                ("numberRecordsFailed", sum(b.rows.failed for b in batches)),
                ("totalProcessingTime", sum(b.millis for b in batches)),
                ("apiActiveProcessingTime", sum(b.millis for b in batches)), ("apexProcessingTime", 0)]
        return out


def _millis(row: dict[str, Any], timed: list[list[str]]) -> dict[str, Any]:
    for names in timed:
        holder: Any = row
        for name in names[:-1]:
            holder = holder.get(name) if isinstance(holder, dict) else None
        value = holder.get(names[-1]) if isinstance(holder, dict) else None
        moment = to_datetime(value) if isinstance(value, str) else None   # a date is midnight UTC
        if moment is not None:
            holder[names[-1]] = int(moment.timestamp() * 1000)
    return row


def as_json(items: list[tuple[str, Any]]) -> str:
    numeric = {"apiVersion"}
    out = {k: (float(v) if k in numeric else v) for k, v in items}
    if "jobId" in out:   # a batch: JSON always carries stateMessage (null), XML leaves it out
        out.setdefault("stateMessage", None)
    return json.dumps(out)
