"""A run's ownership: a lease in the SQL database with fencing, so a run executes in at most one place.

Redis can lose a key (a restart, a flush, a failover) without the worker that held it knowing; the SQL
row cannot. `RunLease.acquire` sets an owner token and an expiry on the run's row in one conditional
UPDATE, so of two workers only one gets it. The owner renews it from a heartbeat thread and in every
journal commit (`fenced_update`), and checks `still_held()` before every write to Salesforce: a worker
that failed to renew, or whose lease another worker took over after it expired, stops before it writes.
Recovery re-enqueues only runs whose lease has expired.

Local deadline: the lease counts as held only until LEASE_SECONDS - SAFETY_SECONDS after the last renewal
was *sent* (monotonic clock), so the owner stops before any other worker can see the lease as expired.
Expiry times in the row use the workers' wall clocks, which must agree within SAFETY_SECONDS (NTP).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Update, or_, update

from backend.extensions import db
from backend.models.base import utcnow
from backend.models.runs import Run

log = logging.getLogger(__name__)
LEASE_SECONDS = 30
RENEW_SECONDS = 5
SAFETY_SECONDS = 10


class LeaseLost(RuntimeError):
    """This worker no longer owns the run: it must stop at once and write nothing more."""


def expiry(now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(seconds=LEASE_SECONDS)


def is_held(run: Any, now: datetime | None = None) -> bool:
    """Whether some worker holds `run`'s lease now (any object with lease_owner / lease_expires_at)."""
    return bool(run.lease_owner) and run.lease_expires_at is not None and run.lease_expires_at > (now or utcnow())


class RunLease:
    """One worker's lease on one run; `start_heartbeat()` keeps renewing it from a thread."""

    def __init__(self, run_id: str, owner: str, sent_at: float) -> None:
        self.run_id, self.owner = run_id, owner
        self._engine = db.engine  # captured here: the heartbeat thread has no app context
        self._deadline = sent_at + LEASE_SECONDS - SAFETY_SECONDS
        self._lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def acquire(cls, run_id: str) -> RunLease | None:
        """The lease if nobody holds it (never held, released, or expired); None otherwise."""
        owner, sent = secrets.token_hex(16), time.monotonic()
        now = utcnow()
        with db.engine.begin() as conn:
            taken = conn.execute(update(Run).where(
                Run.id == run_id,
                or_(Run.lease_owner.is_(None), Run.lease_expires_at.is_(None), Run.lease_expires_at < now),
            ).values(lease_owner=owner, lease_expires_at=expiry(now))).rowcount
        return cls(run_id, owner, sent) if taken == 1 else None

    def still_held(self) -> None:
        """Raise LeaseLost unless this worker may still write (no SQL: called before every Salesforce write)."""
        if self._lost or time.monotonic() > self._deadline:
            self._lost = True
            raise LeaseLost(f"run {self.run_id}: this worker lost its lease; another may own the run now")

    def fenced_update(self, conn: Connection, **values: Any) -> None:
        """Write the run's row only while owning it, renewing the lease in the same transaction."""
        self.still_held()
        sent = time.monotonic()
        done = conn.execute(self._mine().values(lease_expires_at=expiry(), **values)).rowcount
        self._renewed(done == 1, sent)

    def _mine(self) -> Update:
        """An UPDATE of the leased row that matches only while this worker owns it."""
        return update(Run).where(Run.id == self.run_id, Run.lease_owner == self.owner)

    def renew(self) -> bool:
        sent = time.monotonic()
        try:
            with self._engine.begin() as conn:
                done = conn.execute(self._mine().values(lease_expires_at=expiry())).rowcount
        except Exception as err:  # noqa: BLE001 - a database blip: the deadline decides, the next beat retries
            log.warning("run %s: lease renewal failed: %s", self.run_id, type(err).__name__)
            return False
        self._renewed(done == 1, sent)
        return done == 1

    def _renewed(self, ok: bool, sent: float) -> None:
        if not ok:
            self._lost = True
            raise LeaseLost(f"run {self.run_id}: the lease was taken over; this worker stops")
        self._deadline = max(self._deadline, sent + LEASE_SECONDS - SAFETY_SECONDS)

    def start_heartbeat(self) -> None:
        def beat() -> None:
            while not self._stop.wait(RENEW_SECONDS):
                try:
                    self.renew()
                except LeaseLost:
                    log.warning("run %s: lease lost; the worker stops before its next write", self.run_id)
                    return

        self._thread = threading.Thread(target=beat, name=f"run-lease-{self.run_id}", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(RENEW_SECONDS + 1)

    def release(self) -> None:
        """Give the lease up (only if still ours), so the run can be resumed at once elsewhere."""
        self.stop_heartbeat()
        try:
            with self._engine.begin() as conn:
                conn.execute(self._mine().values(lease_owner=None, lease_expires_at=None))
        except Exception as err:  # noqa: BLE001 - it expires on its own
            log.warning("run %s: lease release failed: %s", self.run_id, type(err).__name__)
