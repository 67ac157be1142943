"""Live run state in Redis: the progress hash, the cancel flag and the RQ job id of a run.

All of it is advisory: a run's ownership is the SQL lease (backend/runs/lease.py), and its counts are also
written to the Run row every few seconds, so losing Redis loses no more than a progress bar's freshness.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

from backend.runs.journal import write_run_row
from backend.runs.lease import RunLease

ROW_UPDATE_SECONDS = 2.0
PROGRESS_TTL_SECONDS = 7 * 24 * 3600


def progress_key(run_id: str) -> str:
    return f"inflow:run:{run_id}:progress"


def cancel_key(run_id: str) -> str:
    return f"inflow:run:{run_id}:cancel"


def job_key(run_id: str) -> str:
    return f"inflow:run:{run_id}:rq-job"


@dataclass
class Snapshot:
    phase: str = ""
    rows_read: int = 0
    succeeded: int = 0
    failed: int = 0


class ProgressReporter:
    """The runner's progress callback: every call updates the Redis hash; the Run row every 2 seconds."""

    def __init__(self, conn: redis.Redis, run_id: str, total_rows: int | None = None,
                 lease: RunLease | None = None) -> None:
        self.conn, self.run_id, self.total_rows, self.lease = conn, run_id, total_rows, lease
        self.started = time.monotonic()
        self._base_rows: int | None = None  # rows already read by an earlier attempt (resume)
        self._row_written = 0.0
        self.last = Snapshot()

    def __call__(self, progress: Any) -> None:
        snap = Snapshot(str(getattr(progress, "phase", "") or ""), int(getattr(progress, "rows_read", 0) or 0),
                        int(getattr(progress, "succeeded", 0) or 0), int(getattr(progress, "failed", 0) or 0))
        self.last = snap
        if self._base_rows is None:
            self._base_rows = snap.rows_read
        fields = {"phase": snap.phase, "rows_read": snap.rows_read, "succeeded": snap.succeeded,
                  "failed": snap.failed, "updated_at": f"{time.time():.3f}",
                  "seconds_left": self._seconds_left(snap)}
        if self.total_rows is not None:
            fields["total_rows"] = self.total_rows
        try:
            publish(self.conn, self.run_id, **fields)
        except redis.RedisError:
            pass  # progress is advisory; the Run row below still moves
        now = time.monotonic()
        if now - self._row_written >= ROW_UPDATE_SECONDS:
            self._row_written = now
            self.write_row(snap)

    def write_row(self, snap: Snapshot) -> None:
        write_run_row(self.run_id, self.lease, phase=snap.phase[:32], rows_read=snap.rows_read,
                      rows_succeeded=snap.succeeded, rows_failed=snap.failed)

    def _seconds_left(self, snap: Snapshot) -> str:
        """Time left from this attempt's read rate; empty while unknown (no total, nothing read yet)."""
        if not self.total_rows:
            return ""
        done = max(snap.rows_read, snap.succeeded + snap.failed)
        elapsed = time.monotonic() - self.started
        fresh = done - (self._base_rows or 0)
        if done >= self.total_rows:
            return "0"
        if fresh <= 0 or elapsed <= 0:
            return ""
        return str(int((self.total_rows - done) / (fresh / elapsed)) + 1)


def publish(conn: redis.Redis, run_id: str, **fields: Any) -> None:
    key = progress_key(run_id)
    pipe = conn.pipeline()
    pipe.hset(key, mapping={k: "" if v is None else str(v) for k, v in fields.items()})
    pipe.expire(key, PROGRESS_TTL_SECONDS)
    pipe.execute()


def read(conn: redis.Redis, run_id: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in conn.hgetall(progress_key(run_id)).items()}
