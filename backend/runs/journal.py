"""The runner's crash-safety journal, kept durably in the Run row's checkpoint JSON (or in memory for the CLI)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, select, text, update
from sqlalchemy.exc import OperationalError

from backend.extensions import db
from backend.models.runs import Run
from backend.runs.lease import RunLease

# How long a write of the run's row may wait for another transaction's lock (PostgreSQL's lock_timeout,
# SQLite's busy timeout: 30 s, as every SQLite connection gets in backend/__init__.py). Nothing should
# hold it for more than a moment; waiting longer means a transaction left open (once the worker's own
# ORM session, which the journal then waited on forever), so fail loudly instead of hanging the run.
LOCK_TIMEOUT_MS = 30_000


class RunRowLocked(RuntimeError):
    """A write to the Run row waited LOCK_TIMEOUT_MS for a lock another transaction still holds."""


@contextmanager
def run_row_write(run_id: str) -> Iterator[Connection]:
    """A short transaction of its own for writing the run's row, with a bounded lock wait."""
    try:
        with db.engine.begin() as conn:
            wait = int(LOCK_TIMEOUT_MS)
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"SET LOCAL lock_timeout = {wait}"))
            elif conn.dialect.name == "sqlite":
                conn.execute(text(f"PRAGMA busy_timeout = {wait}"))  # per connection; outside the write
            yield conn
    except OperationalError as err:
        if getattr(err.orig, "sqlstate", None) == "55P03" or "database is locked" in str(err.orig):
            raise RunRowLocked(f"run {run_id}: writing its row waited over {LOCK_TIMEOUT_MS // 1000} s for a "
                               "lock held by another transaction that stays open") from err
        raise


def write_run_row(run_id: str, lease: RunLease | None, **values: Any) -> None:
    """One short transaction writing the run's row; with a lease, only while this worker owns the run
    (the UPDATE names the owner, so a worker that lost the run writes nothing and gets LeaseLost)."""
    with run_row_write(run_id) as conn:
        if lease is None:
            conn.execute(update(Run).where(Run.id == run_id).values(**values))
        else:
            lease.fenced_update(conn, **values)


class RunJournal:
    """`get(key)` / `put(key, value)` over Run.checkpoint; each put is committed before it returns.

    Writes go through their own short transaction on the engine, never the ORM session, so a put
    cannot be rolled back with unrelated work and holds no lock while the runner talks to Salesforce.
    A put that cannot get the row's lock within LOCK_TIMEOUT_MS raises RunRowLocked; with a lease, a put by
    a worker that no longer owns the run raises LeaseLost and writes nothing (and renews the lease otherwise).
    Values must be JSON; they are stored as JSON, so tuples come back as lists.
    """

    def __init__(self, run_id: str, lease: RunLease | None = None) -> None:
        self.run_id, self.lease = run_id, lease
        with db.engine.connect() as conn:
            stored = conn.execute(select(Run.checkpoint).where(Run.id == run_id)).scalar()
        self._data: dict[str, Any] = dict(stored or {})

    def get(self, key: str) -> Any | None:
        return copy.deepcopy(self._data.get(key))

    def put(self, key: str, value: Any) -> None:
        value = json.loads(json.dumps(value))  # fail here, not at commit, on values JSON cannot hold
        data = {**self._data, key: value}
        write_run_row(self.run_id, self.lease, checkpoint=data)
        self._data = data

    def keys(self) -> list[str]:
        return list(self._data)

    def put_many(self, values: dict[str, Any]) -> None:
        """Several keys in one commit."""
        data = {**self._data, **json.loads(json.dumps(values))}
        write_run_row(self.run_id, self.lease, checkpoint=data)
        self._data = data

    def clear(self) -> None:
        write_run_row(self.run_id, self.lease, checkpoint={})
        self._data = {}


class MemoryJournal:
    """The same protocol in memory: the CLI runs once, start to end, in one process."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}

    def get(self, key: str) -> Any | None:
        return copy.deepcopy(self._data.get(key))

    def put(self, key: str, value: Any) -> None:
        self._data[key] = json.loads(json.dumps(value))

    def keys(self) -> list[str]:
        return list(self._data)
