"""Live run state in Redis: the per-run lock with its heartbeat, the progress hash, and the cancel flag.

The lock is what "this run is being worked on" means: a worker holds it while it runs the import and
a heartbeat thread keeps extending it. A worker killed with SIGKILL stops extending it, the lock
expires after LOCK_TTL, and the maintenance task re-enqueues the run (see service.recover_stale_runs).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import update

from backend.models.runs import Run
from backend.runs.journal import run_row_write

LOCK_TTL_MS = 20_000
HEARTBEAT_SECONDS = 4.0
ROW_UPDATE_SECONDS = 2.0
PROGRESS_TTL_SECONDS = 7 * 24 * 3600

_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def lock_key(run_id: str) -> str:
    return f"inflow:run:{run_id}:lock"


def progress_key(run_id: str) -> str:
    return f"inflow:run:{run_id}:progress"


def cancel_key(run_id: str) -> str:
    return f"inflow:run:{run_id}:cancel"


def job_key(run_id: str) -> str:
    return f"inflow:run:{run_id}:rq-job"


def is_locked(conn: redis.Redis, run_id: str) -> bool:
    return bool(conn.exists(lock_key(run_id)))


class RunLock:
    """Exclusive, expiring ownership of one run; `start_heartbeat()` keeps it alive from a thread."""

    def __init__(self, conn: redis.Redis, run_id: str, token: str) -> None:
        self.conn, self.run_id, self.token = conn, run_id, token
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def acquire(cls, conn: redis.Redis, run_id: str) -> RunLock | None:
        token = secrets.token_hex(16)
        if conn.set(lock_key(run_id), token, nx=True, px=LOCK_TTL_MS):
            return cls(conn, run_id, token)
        return None

    def extend(self) -> bool:
        return bool(self.conn.eval(_EXTEND, 1, lock_key(self.run_id), self.token, LOCK_TTL_MS))

    def start_heartbeat(self) -> None:
        def beat() -> None:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                try:
                    self.extend()
                except redis.RedisError:
                    pass  # the next beat tries again; the TTL leaves room for a few misses

        self._thread = threading.Thread(target=beat, name=f"run-heartbeat-{self.run_id}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(HEARTBEAT_SECONDS + 1)
        try:
            self.conn.eval(_RELEASE, 1, lock_key(self.run_id), self.token)
        except redis.RedisError:
            pass  # it expires on its own


@dataclass
class Snapshot:
    phase: str = ""
    rows_read: int = 0
    succeeded: int = 0
    failed: int = 0


class ProgressReporter:
    """The runner's progress callback: every call updates the Redis hash; the Run row every 2 seconds."""

    def __init__(self, conn: redis.Redis, run_id: str, total_rows: int | None = None) -> None:
        self.conn, self.run_id, self.total_rows = conn, run_id, total_rows
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
        with run_row_write(self.run_id) as conn:
            conn.execute(update(Run).where(Run.id == self.run_id).values(
                phase=snap.phase[:32], rows_read=snap.rows_read, rows_succeeded=snap.succeeded,
                rows_failed=snap.failed))

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
