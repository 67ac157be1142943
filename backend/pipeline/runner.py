"""run(RunContext) -> RunResult: read, map, resolve lookups, write through a sink, journal every chunk.

A chunk is done when its result parts are written and `chunk/<index>` is in the journal; a second
run() with the same journal and result parts skips done chunks and lets the sink resume what was in
flight (REST calls journaled per 200 rows, Bulk jobs by id), so records and result rows are never
duplicated. REQUEST_LIMIT_EXCEEDED ends the run with `paused_until` instead of an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from backend.pipeline.chunk import Chunk
from backend.pipeline.lookups import LookupResolver
from backend.pipeline.mapping import MappedChunk, Mapper, Mapping
from backend.pipeline.memory import give_back, lean_allocators
from backend.pipeline.parts import ResultParts, write_after_snapshot, write_chunk_parts, write_snapshot
from backend.pipeline.rollback import capture_before
from backend.pipeline.sinks import REST_THRESHOLD, choose_sink, make_sink
from backend.pipeline.sinks.base import Journal, Outcome
from backend.pipeline.sources import Source
from backend.readahead import read_ahead
from backend.salesforce.client import ApiLimitExceeded, SalesforceClient

PROGRESS_EVERY = 2.0


@dataclass(frozen=True)
class Progress:
    phase: str  # reading | writing | waiting | done
    rows_read: int
    succeeded: int
    failed: int


@dataclass
class RunContext:
    source: Source
    mapping: Mapping
    client: SalesforceClient
    journal: Journal
    results: ResultParts
    api: str = "auto"  # auto | rest | bulk2 | bulk1
    progress: Callable[[Progress], None] | None = None
    should_stop: Callable[[], str | None] | None = None
    row_count_hint: int | None = None
    sink_options: dict[str, Any] = field(default_factory=dict)  # threads, lock_backoff, max_job_bytes, poll...
    first_index: int = 0  # a piece of a run numbers its chunks from here, so parts of all pieces never collide
    # Told each chunk's index once the chunk is journaled done (in this run or an earlier attempt): its
    # result parts are final from then on.
    on_chunk_done: Callable[[int], None] | None = None


@dataclass
class RunResult:
    api_used: str
    rows_read: int
    succeeded: int
    failed: int
    stopped_reason: str | None = None
    paused_until: datetime | None = None
    created: int = 0  # of the succeeded rows, how many records were created (the rest were updated or deleted)


class _Run:
    def __init__(self, ctx: RunContext, counts: _Counts) -> None:
        self.ctx = ctx
        self.counts = counts
        self.mapping = ctx.mapping
        self.describe = ctx.client.describe(ctx.mapping.object)
        self.columns = ctx.source.columns()
        self.mapper = Mapper(ctx.mapping, self.describe, self.columns)
        self.resolver = LookupResolver(ctx.client, ctx.mapping)
        self.rows_in: dict[int, int] = {}
        self._last_progress = 0.0
        self.parent_field = _parent_field(ctx.mapping, self.describe)

    def report(self, phase: str, force: bool = False) -> None:
        now = time.monotonic()
        if self.ctx.progress and (force or now - self._last_progress >= PROGRESS_EVERY):
            self._last_progress = now
            c = self.counts
            self.ctx.progress(Progress(phase, c.read, c.succeeded, c.failed))

    def prepare(self, chunk: Chunk) -> MappedChunk:
        mapped = self.mapper.map_chunk(chunk)
        mapped = self.resolver.skip_existing(self.resolver.match_ids(self.resolver.resolve(mapped)))
        return order_by_parent(mapped, self.parent_field)

    def finish(self, outcome: Outcome) -> None:
        """Write the chunk's parts and rollback note, then journal it done (in that order)."""
        ok, bad, created = write_chunk_parts(self.ctx.results, outcome, self.columns)
        write_after_snapshot(self.ctx.results, outcome, self.mapping.object, self.mapping.operation)
        rows = self.rows_in.pop(outcome.index, ok + bad)
        self.ctx.journal.put(f"chunk/{outcome.index:06d}",
                             {"rows": rows, "succeeded": ok, "failed": bad, "created": created})
        self.counts.succeeded += ok
        self.counts.created += created
        self.counts.failed += bad
        if self.ctx.on_chunk_done:
            self.ctx.on_chunk_done(outcome.index)
        self.report("writing")


def run(ctx: RunContext) -> RunResult:
    """Import `ctx.source` into Salesforce; see the module docstring for resume and pause."""
    lean_allocators()
    progress = _Counts(ctx.journal.get("api") or ctx.api)
    try:
        return _run(ctx, progress)
    except ApiLimitExceeded as err:
        return RunResult(progress.api, progress.read, progress.succeeded, progress.failed, None,
                         datetime.now(UTC) + timedelta(seconds=err.retry_after), created=progress.created)


@dataclass
class _Counts:
    api: str
    read: int = 0
    succeeded: int = 0
    failed: int = 0
    created: int = 0


def _run(ctx: RunContext, counts: _Counts) -> RunResult:
    r = _Run(ctx, counts)
    chunks = read_ahead(ctx.source.read())
    if ctx.journal.get("api") is None:
        counts.api, chunks = _choose(ctx, chunks)
        ctx.journal.put("api", counts.api)
    sink = make_sink(counts.api, ctx.client, ctx.mapping, ctx.journal, heartbeat=lambda: r.report("waiting"),
                     **ctx.sink_options)
    stopped: str | None = None
    try:
        for index, chunk in enumerate(chunks, ctx.first_index):
            stopped = ctx.should_stop() if ctx.should_stop else None
            if stopped:
                break
            n = len(chunk) + len(chunk.rejected)
            counts.read += n
            done = ctx.journal.get(f"chunk/{index:06d}")
            if done is not None:
                counts.succeeded += done["succeeded"]
                counts.failed += done["failed"]
                counts.created += done.get("created", 0)
                if ctx.on_chunk_done:
                    ctx.on_chunk_done(index)
                continue
            r.rows_in[index] = n
            mapped = r.prepare(chunk)
            _snapshot_before(r, index, mapped)
            for outcome in sink.submit(index, mapped):
                r.finish(outcome)
                sink.done(outcome.index)
            r.report("reading")
            give_back()
        for outcome in sink.finish() if stopped is None else sink.drain():
            r.finish(outcome)
            sink.done(outcome.index)
    finally:
        sink.close()
        chunks.close()  # stops the read-ahead thread when the loop ended early
    r.report("done", force=True)
    return RunResult(counts.api, counts.read, counts.succeeded, counts.failed, stopped, created=counts.created)


def _choose(ctx: RunContext, chunks: Iterator[Chunk]) -> tuple[str, Iterator[Chunk]]:
    """The sink's API; for "auto" without a row count, peek at chunks until the threshold is passed."""
    if ctx.api != "auto" or ctx.row_count_hint is not None:
        return choose_sink(ctx.api, ctx.row_count_hint, ctx.mapping.operation), chunks
    seen: list[Chunk] = []
    total = 0
    for chunk in chunks:
        seen.append(chunk)
        total += len(chunk)
        if total >= REST_THRESHOLD:
            break

    def replay() -> Iterator[Chunk]:
        yield from seen
        yield from chunks
    return choose_sink("auto", total if total < REST_THRESHOLD else None, ctx.mapping.operation), replay()


def _snapshot_before(r: _Run, index: int, mapped: MappedChunk) -> None:
    if r.mapping.operation not in ("update", "upsert") or len(mapped) == 0:
        return
    name = f"rollback/before/{index:06d}"
    if r.ctx.results.has_part(name):
        return  # taken by the run that stopped: those are the values before *our* write
    before = capture_before(r.ctx.client, r.resolver, r.mapping, r.describe, mapped)
    write_snapshot(r.ctx.results, name, before)


def _parent_field(mapping: Mapping, describe: dict[str, Any]) -> str | None:
    """The reference field rows are grouped by (the first mapped master-detail or lookup)."""
    refs = {f["name"].lower(): f for f in describe.get("fields", []) if f.get("type") == "reference"}
    for fm in mapping.fields:
        f = refs.get(fm.field.lower())
        if f is not None and f["name"] not in ("OwnerId", "RecordTypeId"):
            return f["name"]
    return None


def order_by_parent(mapped: MappedChunk, parent: str | None) -> MappedChunk:
    """Rows of one parent next to each other: fewer UNABLE_TO_LOCK_ROW on the parent's lock."""
    col = next((c for c in mapped.frame.columns if parent and (c == parent or c.split(".")[0] + "Id" == parent)),
               None)
    if col is None or len(mapped) < 2:
        return mapped
    keys = pa.array(mapped.frame[col].array)  # Arrow's stable sort: no Python string per row
    order = pc.sort_indices(keys).to_numpy()
    return replace(mapped, frame=mapped.frame.iloc[order].reset_index(drop=True),
                   row_numbers=mapped.row_numbers[order], source=mapped.source.iloc[order].reset_index(drop=True))
