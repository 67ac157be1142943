"""Piece work: a worker takes the next piece of any run (fairly between orgs, within each org's cap) and moves it.

Taking is one conditional UPDATE ... RETURNING, so of two workers only one gets a piece (SQLite
serialises writers; on PostgreSQL the loser's re-checked WHERE no longer matches). A piece's lease works
like a run's (backend/runs/lease.py): renewed by a heartbeat and by every journal commit, fenced by the
taker's token; a piece whose worker died is free again once its lease expires, and its new taker resumes
from the piece's journal (Bulk job ids, REST calls, finished chunks), so no record is written twice.
"""

from __future__ import annotations

import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Update, and_, func, or_, select, text, update

from backend.backoff import jittered
from backend.errors import InflowError, RetriableSalesforceError
from backend.extensions import db
from backend.models.base import NotFound, utcnow
from backend.models.pieces import RunPiece
from backend.models.runs import Run
from backend.runs import pieces as run_pieces
from backend.runs import progress as live
from backend.runs import split
from backend.runs.execute import INTERNAL_ERROR, MAX_RETRIES, RETRY_BASE_SECONDS, SOURCE_EXPIRED, Execution
from backend.runs.journal import RunJournal
from backend.runs.lease import LeaseLost, RunLease, expiry
from backend.runs.parts import BlobResultParts
from backend.runs.service import IMPORT_TASK, enqueue
from backend.salesforce.client import LIMIT_MESSAGE
from backend.services import get_redis, get_settings

log = logging.getLogger(__name__)
# Pieces one worker moves at once. A piece is one Bulk job, and a worker mostly waits while Salesforce
# processes it: with one lane, one worker ran a 1,000,000-row run 35 % slower than the unsplit run, whose
# sink keeps two uploaded jobs at Salesforce while it maps the next (docs/benchmarks.md, workers).
LANES = 2
TAKE_LOCK = 0x1F1_0E5  # PostgreSQL advisory lock id: the cap's count and the take are one step


def _takeable(p: Any, now: datetime) -> Any:
    expired = and_(p.state == "taken", p.lease_expires_at < now)
    return and_(or_(p.state == "free", expired), or_(p.not_before.is_(None), p.not_before <= now))


def take(owner: str, *, cap: int | None = None, now: datetime | None = None) -> RunPiece | None:
    """Take the next piece for `owner`: of the orgs below their cap, the one with the fewest pieces in
    flight goes first (round robin between orgs), then the oldest run's lowest piece."""
    now = now or utcnow()
    cap = cap or get_settings().org_max_pieces
    p, f = RunPiece.__table__.alias("p"), RunPiece.__table__.alias("f")
    in_flight = (select(func.count()).select_from(f).where(
        f.c.org_key == p.c.org_key, f.c.state == "taken", f.c.lease_expires_at >= now).scalar_subquery())
    pick = (select(p.c.id).where(_takeable(p.c, now), in_flight < cap)
            .order_by(in_flight, p.c.created_at, p.c.run_id, p.c.piece_no).limit(1).scalar_subquery())
    stmt = (update(RunPiece).where(RunPiece.id == pick, _takeable(RunPiece, now))
            .values(state="taken", taken_by=owner, lease_expires_at=expiry(now), attempts=RunPiece.attempts + 1)
            .returning(RunPiece.id))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # two takers must not both count 4 of a cap of 5 and take two
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": TAKE_LOCK})
        piece_id = conn.execute(stmt).scalar()
    if piece_id is None:
        return None
    with db.engine.connect() as conn:
        row = conn.execute(select(RunPiece.__table__).where(RunPiece.id == piece_id)).first()
    return RunPiece(**row._asdict())


class PieceLease(RunLease):
    """The taker's lease on one piece (the `run_id` of RunLease is the piece's id here)."""

    def __init__(self, piece_id: str, owner: str) -> None:
        super().__init__(piece_id, owner, time.monotonic())

    def _mine(self) -> Update:
        return update(RunPiece).where(RunPiece.id == self.run_id, RunPiece.taken_by == self.owner,
                                      RunPiece.state == "taken")


class PieceJournal(RunJournal):
    """The runner's journal of one piece, in its row's checkpoint; every write fenced by the piece's lease."""

    def __init__(self, piece_id: str, lease: PieceLease) -> None:
        self.run_id, self.lease = piece_id, lease
        with db.engine.connect() as conn:
            stored = conn.execute(select(RunPiece.checkpoint).where(RunPiece.id == piece_id)).scalar()
        self._data = dict(stored or {})


def work_pieces(lanes: int = LANES) -> int:
    """The body of the `pieces` queue's task: take and move pieces, `lanes` at a time, until none is free for
    this worker; returns how many it moved."""
    app = current_app._get_current_object()

    def lane() -> int:
        with app.app_context():  # a session of its own
            moved = 0
            while (piece := take(secrets.token_hex(16))) is not None:
                move(piece)
                moved += 1
            return moved

    if lanes == 1:
        return lane()
    with ThreadPoolExecutor(lanes, thread_name_prefix="piece-lane") as pool:
        return sum(f.result() for f in [pool.submit(lane) for _ in range(lanes)])


def move(piece: RunPiece) -> str:
    """Move one taken piece to its end (done, failed, or free again for a later retry); returns that state."""
    lease = PieceLease(piece.id, piece.taken_by or "")
    lease.start_heartbeat()
    try:
        run = db.session.get(Run, piece.run_id)
        if run is None or run.finished:
            return _end(lease, piece, "skipped", error="")
        try:
            loaded = run_pieces.load(run)
        except InflowError as err:
            return _end(lease, piece, "failed", error=err.message)
        execution = PieceExecution(loaded, piece, lease)
        if piece.attempts > MAX_RETRIES + 1:  # retriable errors fail by then: the takers before died on it
            return execution._failed(
                f"The records from line {piece.first_line} of the file ({piece.rows} records) stopped the worker "
                f"moving them {piece.attempts - 1} times (it ran out of memory or crashed), so the run stopped "
                "there. The records written before are kept; split the file there or write to support.")
        return execution.move()
    except LeaseLost as err:  # another worker has the piece now: write nothing more
        log.warning("%s", err)
        return "lease lost"
    finally:
        lease.stop_heartbeat()
        db.session.rollback()


class PieceExecution(Execution):
    """One attempt at one piece: the engine over the piece's rows, into the run's result parts."""

    def __init__(self, pieces: run_pieces.RunPieces, piece: RunPiece, lease: PieceLease) -> None:
        self.pieces, self.run, self.lease, self.piece = pieces, pieces.run, lease, piece
        self.conn = get_redis()
        self.journal = PieceJournal(piece.id, lease)
        self.parts = BlobResultParts(pieces.store, pieces.account.id, self.run.id, pieces.account.retention_days)
        self.client: Any = None
        self.mirror = None
        self.reporter = None
        self.api = ""
        db.session.commit()

    def move(self) -> str:
        piece = self.piece
        try:
            stopped = self._should_stop()
            result = None if stopped else self._run_engine()
        except RetriableSalesforceError as err:
            return self._again(err)
        except NotFound:  # the uploaded file expired (kept one hour) before this piece was read
            return self._failed(f"The import stopped: {SOURCE_EXPIRED}.")
        except InflowError as err:
            return self._failed(err.message)
        except LeaseLost:
            raise
        except Exception:
            log.exception("run %s piece %d failed", self.run.id, piece.piece_no)
            return self._failed(INTERNAL_ERROR)
        if result is not None and getattr(result, "paused_until", None):  # the org's API allowance
            return self._later(result.paused_until, LIMIT_MESSAGE)
        if stopped or (result is not None and result.stopped_reason):
            reason = stopped or result.stopped_reason
            if reason != "cancelled":
                return self._failed(f"The import stopped: {reason}.")
            self._skip_rest()
        counts = {} if result is None else {"rows_read": result.rows_read, "succeeded": result.succeeded,
                                            "failed": result.failed, "created": result.created}
        return _end(self.lease, piece, "done", error=stopped or (result.stopped_reason if result else "") or "",
                    **counts)

    def _run_engine(self) -> Any:
        from backend.pipeline import runner

        self.client = self.pieces.client()
        self.client.before_write = self.lease.still_held
        how = (self.run.checkpoint or {})[split.SPLIT_KEY]
        source, mapping = split.piece_source(self.pieces, self.piece, how), self.pieces.mapping()
        db.session.commit()
        return runner.run(runner.RunContext(
            source=source, mapping=mapping, client=self.client, api=self.pieces.api(), journal=self.journal,
            results=self.parts, should_stop=self._should_stop, row_count_hint=self.piece.rows,
            first_index=self.piece.first_chunk))

    def _again(self, err: RetriableSalesforceError) -> str:
        retry_after = getattr(err, "retry_after", None)
        if retry_after is not None:
            return self._later(utcnow() + timedelta(seconds=float(retry_after)), err.message)
        if self.piece.attempts > MAX_RETRIES:
            return self._failed(err.message)
        log.warning("run %s piece %d: %s; attempt %d of %d", self.run.id, self.piece.piece_no,
                    err.detail or err.message, self.piece.attempts, MAX_RETRIES)
        wait = jittered(RETRY_BASE_SECONDS * 2 ** (self.piece.attempts - 1))
        return self._later(utcnow() + timedelta(seconds=wait), err.message)

    def _later(self, at: datetime, reason: str) -> str:
        """Give the piece back with a time before which nobody takes it, and come back for it then."""
        _end(self.lease, self.piece, "free", error="", not_before=at, taken_by=None, then=False)
        live.publish(self.conn, self.run.id, phase="paused", paused_until=at.isoformat(), pause_reason=reason)
        split.enqueue_work(1, at=at, conn=self.conn)
        return "later"

    def _failed(self, message: str) -> str:
        self._skip_rest()
        return _end(self.lease, self.piece, "failed", error=message)

    def _skip_rest(self) -> None:
        """The run ends without its other pieces (failed or cancelled): none of them is started any more."""
        with db.engine.begin() as conn:
            conn.execute(update(RunPiece).where(RunPiece.run_id == self.run.id, RunPiece.state == "free")
                         .values(state="skipped"))


def _end(lease: PieceLease, piece: RunPiece, state: str, *, error: str, then: bool = True, **values: Any) -> str:
    """Record the piece's end (fenced: only its taker may); the last piece of a run calls the coordinator."""
    with db.engine.begin() as conn:
        lease.fenced_update(conn, state=state, error=error, **values)
    if then:
        _after_piece(piece.run_id)
    return state


def _after_piece(run_id: str) -> None:
    counts = split.piece_counts(run_id)
    with db.engine.connect() as conn:
        sums = conn.execute(select(func.sum(RunPiece.rows_read), func.sum(RunPiece.succeeded),
                                   func.sum(RunPiece.failed)).where(RunPiece.run_id == run_id)).first()
    conn_r = get_redis()
    live.publish(conn_r, run_id, rows_read=int(sums[0] or 0), succeeded=int(sums[1] or 0), failed=int(sums[2] or 0))
    if not any(counts.get(s) for s in split.OPEN):
        enqueue(run_id, task=IMPORT_TASK, conn=conn_r)  # the coordinator finishes the run
