"""One run, many workers: the coordinator splits a large file-upload run into pieces and finishes it.

The coordinator is the run's own task (`run_import`), under the run's lease. Its first pass reads the
uploaded CSV once to cut it into pieces of INFLOW_PIECE_ROWS records (byte ranges at record
boundaries, backend/pipeline/sources/csv_cuts.py), inserts them as `run_pieces` rows and enqueues
piece work; any worker then takes pieces (backend/runs/piece_work.py). The worker that finishes the last
piece enqueues the run's task again; that pass joins the pieces' result parts into the run's files,
sums their counts and finishes the run (and its Import_Run__c record), like an unsplit run.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select

from backend.extensions import db
from backend.models.base import NotFound, new_id, utcnow
from backend.models.pieces import RunPiece
from backend.pipeline.sources.csv import CsvSource
from backend.pipeline.sources.csv_cuts import layout
from backend.pipeline.sources.text import detect_encoding, read_sample
from backend.runs import progress as live
from backend.runs.execute import Execution, begin, under_run_lock
from backend.runs.lease import RunLease
from backend.runs.pieces import READ_BUFFER, AppContextReader, RunPieces
from backend.runs.service import IMPORT_TASK
from backend.services import get_redis, get_settings
from backend.storage.blobs import CHUNK_SIZE, BlobStore
from backend.streams import IterStream

PIECES_TASK = "worker.tasks.work_pieces"
SPLIT_KEY = "pieces:source"  # in the run's journal: how every piece reads the file (header range, codec)
SPLITTABLE_CODECS = ("utf-8", "cp1252", "latin-1")  # a line break is byte 0x0A in these, never inside a char
OPEN = ("free", "taken")  # a piece in these states still has work; done | failed | skipped have none


def run_import(run_id: str) -> str:
    """The import task's body (`worker.tasks.run_import`): a run as `execute.run_import` moves it, or, for a
    large upload, its coordinator's pass."""
    return under_run_lock(run_id, lambda rid, lease: begin(rid, lease, _execution), IMPORT_TASK)


def _execution(pieces: RunPieces, lease: RunLease) -> Execution:
    return PiecedExecution(pieces, lease) if should_split(pieces) else Execution(pieces, lease)


def should_split(pieces: RunPieces) -> bool:
    """A fresh run of an uploaded CSV file with more rows than one piece, while two workers or more can take
    pieces (a resumed unsplit run stays whole); a split run's later passes come back here too (its pieces exist)."""
    spec, checkpoint = pieces.job.source or {}, pieces.run.checkpoint or {}
    if SPLIT_KEY in checkpoint:
        return True
    if spec.get("type") != "csv" or not spec.get("blob_id") or spec.get("connection_id"):
        return False
    if "api" in checkpoint:  # begun whole before: it resumes whole
        return False
    try:  # a file of no more bytes than a piece's rows has no more rows (each ends with a line break)
        size = pieces.store.get_blob(pieces.account.id, spec["blob_id"]).size
    except NotFound:  # the upload expired: the whole run's path says so to the user
        return False
    # The one scan, in plan(), counts the rows. One worker alone moves a run whole about a fifth faster
    # than in pieces (no split pass, full overlap of reading and sending): pieces pay only when shared.
    return size > get_settings().piece_rows and piece_workers() >= 2


def piece_workers() -> int:
    """How many workers listen on the pieces queue now (RQ's registry of live workers)."""
    from rq import Queue, Worker

    return Worker.count(connection=get_redis(), queue=Queue("pieces", connection=get_redis()))


def plan(pieces: RunPieces) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """The run's pieces as `run_pieces` rows, and how a piece reads the file; None if it stays whole."""
    spec = pieces.job.source or {}
    blob = pieces.store.get_blob(pieces.account.id, spec["blob_id"])
    config = dict(spec.get("config") or {})
    sample, complete = read_sample(pieces.store.open(pieces.account.id, blob.id))
    enc = detect_encoding(sample, config.get("encoding", "auto"), complete=complete)
    if enc.codec not in SPLITTABLE_CODECS:
        return None
    probe = pieces.source()
    assert isinstance(probe, CsvSource)
    probe.columns()  # settles the delimiter as the whole file's reader would
    piece_rows = get_settings().piece_rows
    found = layout(pieces.store.iter_chunks(blob), skip=enc.skip, lines_above=int(config.get("header_row") or 1) - 1,
                   piece_rows=piece_rows)
    if found is None or len(found.cuts) < 2:
        return None
    stride = piece_rows + 1  # chunks of one piece at most (a chunk holds at least one record)
    now, org_key = utcnow(), pieces.org.org_id or pieces.org.id
    rows = [{"id": new_id(), "created_at": now, "run_id": pieces.run.id, "piece_no": i, "org_key": org_key,
             "first_row": c.first_row, "rows": c.rows, "start_offset": c.start, "end_offset": c.end,
             "first_line": c.first_line, "first_chunk": i * stride, "state": "free", "attempts": 0, "rows_read": 0,
             "succeeded": 0, "failed": 0, "created": 0, "error": "", "checkpoint": {}}
            for i, c in enumerate(found.cuts)]
    how = {"header": [found.header_start, found.header_end], "header_lines": found.header_lines,
           "config": {**config, "encoding": enc.codec, "delimiter": probe.delimiter, "header_row": 1}}
    return rows, how


def piece_source(pieces: RunPieces, piece: RunPiece, how: dict[str, Any]) -> CsvSource:
    """The piece's rows as a CSV source of their own: the file's header, then the piece's byte range."""
    blob_id = (pieces.job.source or {})["blob_id"]
    ranges = [tuple(how["header"]), (piece.start_offset, piece.end_offset)]
    opener = range_opener(pieces.store, pieces.account.id, blob_id, ranges)
    return CsvSource(how["config"], open_stream=opener, lines_before=piece.first_line - how["header_lines"] - 1)


def range_opener(store: BlobStore, account_id: str, blob_id: str,
                 ranges: list[tuple[int, int]]) -> Callable[[], io.BufferedReader]:
    """A source's `open_stream` over byte ranges of a blob, reading only the chunks that hold them."""
    app = current_app._get_current_object()

    def blocks() -> Iterator[bytes]:
        blob = store.get_blob(account_id, blob_id)
        for start, end in ranges:
            pos = (start // CHUNK_SIZE) * CHUNK_SIZE  # chunks are fixed-size: start at the one holding `start`
            for data in store.iter_chunks(blob, start // CHUNK_SIZE):
                lo, hi = max(start - pos, 0), min(end - pos, len(data))
                if lo < hi:
                    yield data[lo:hi]
                pos += len(data)
                if pos >= end:
                    break

    def opener() -> io.BufferedReader:
        with app.app_context():
            return io.BufferedReader(AppContextReader(app, IterStream(blocks())), READ_BUFFER)
    return opener


def enqueue_work(count: int, *, at: datetime | None = None, conn: Any = None) -> None:
    """`count` piece-work jobs (ids only: none at all; a job takes whatever piece is next)."""
    from rq import Queue

    from backend.runs.service import JOB_TIMEOUT

    queue = Queue("pieces", connection=conn or get_redis())
    for _ in range(count):
        if at is None:
            queue.enqueue(PIECES_TASK, job_timeout=JOB_TIMEOUT, description="pieces")
        else:
            queue.enqueue_at(at, PIECES_TASK, job_timeout=JOB_TIMEOUT, description="pieces")


def piece_counts(run_id: str) -> dict[str, int]:
    """How many pieces of the run are in each state."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(RunPiece.state, func.count()).where(RunPiece.run_id == run_id)
                            .group_by(RunPiece.state)).all()
    return {state: int(n) for state, n in rows}


class PiecedExecution(Execution):
    """The coordinator's pass over a run: split it, or nudge its pieces, or finish it once all are done."""

    def _execute(self) -> tuple[str, datetime | None]:
        counts = piece_counts(self.run.id)
        if not counts:
            planned = plan(self.pieces)
            if planned is None:  # not splittable after all (an odd encoding, one piece): the run goes on whole
                return super()._execute()
            rows, how = planned
            self.journal.put(SPLIT_KEY, how)  # before the pieces: a piece never exists without it
            self.journal.put("runs:total_rows", sum(r["rows"] for r in rows))
            with db.engine.begin() as conn:
                conn.execute(insert(RunPiece), rows)
            enqueue_work(len(rows), conn=self.conn)
            self._open_mirror()
            self._sync_mirror(final=True)  # the run shows as running in the org while its pieces move
            live.publish(self.conn, self.run.id, state="running", phase="writing", paused_until="", pause_reason="",
                         total_rows=sum(r["rows"] for r in rows))
            return f"split into {len(rows)} pieces", None
        if any(counts.get(s) for s in OPEN):
            enqueue_work(1, conn=self.conn)  # a recovery pass: a piece of a dead worker is taken again
            return "pieces in flight", None
        return self._finish_pieces(), None

    def _open_mirror(self) -> None:
        from backend.salesforce.mirror import RunMirror

        self.client = self.pieces.client()
        self.client.before_write = self.lease.still_held
        self.mirror = RunMirror(self.client, self.pieces.org.namespace_prefix, job=self.pieces.mirror_job(),
                                run_key=self.run.id)

    def _finish_pieces(self) -> str:
        with db.engine.connect() as conn:
            done = conn.execute(select(RunPiece.__table__).where(RunPiece.run_id == self.run.id)
                                .order_by(RunPiece.piece_no)).all()
        # The pieces' chunk notes join the run's journal: a rollback walks them as it walks an unsplit run's.
        self.journal.put_many({k: v for p in done for k, v in (p.checkpoint or {}).items() if k.startswith("chunk/")})
        self._open_mirror()
        failed = next((p.error for p in done if p.state == "failed"), None)
        if failed and self.run.state != "cancelling":
            return self._finish_failed(failed)
        api = next(((p.checkpoint or {}).get("api") for p in done if (p.checkpoint or {}).get("api")), "")
        result = SimpleNamespace(api_used=api, rows_read=sum(p.rows_read for p in done),
                                 succeeded=sum(p.succeeded for p in done), failed=sum(p.failed for p in done),
                                 created=sum(p.created for p in done),
                                 stopped_reason=next((p.error for p in done if p.error), None))
        return self._finish(result, self.pieces.source().columns())
