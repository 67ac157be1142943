"""The per-org Bulk worker (jobs side by side, each in order on a thread of its own) and the org's Bulk state."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .values import format_datetime

if TYPE_CHECKING:
    from .org import Org


class BulkWorker:
    """An org's Bulk work in lanes: each lane (one Bulk 2.0 job, one Serial Bulk 1.0 job, one Parallel batch)
    runs in order on a daemon thread of its own, and lanes run side by side, as Salesforce processes an
    org's concurrent jobs in parallel. Rows meet only at the store's lock, held per slice of rows, and at
    the record locks Salesforce also has (bulk_engine.LockPlan)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lanes: dict[str, deque[Callable[[], None]]] = {}
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], None], lane: str = "") -> None:
        with self._lock:
            waiting = self._lanes.get(lane)
            if waiting is not None:
                waiting.append(fn)
                return
            self._lanes[lane] = deque([fn])
        threading.Thread(target=self._run, args=(lane,), name=f"localorg-bulk:{self.name}:{lane}",
                         daemon=True).start()

    def _run(self, lane: str) -> None:
        while True:
            with self._lock:
                waiting = self._lanes[lane]
                if not waiting:
                    del self._lanes[lane]
                    return
                fn = waiting.popleft()
            try:
                fn()
            except Exception:  # a bug in one job must not stop the lane
                logging.getLogger(__name__).exception("bulk work failed")


class BulkState:
    """Bulk jobs of one org (2.0 ingest and query, 1.0) and its worker."""

    def __init__(self, name: str) -> None:
        self.jobs: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.worker = BulkWorker(name)


_state_lock = threading.Lock()


def bulk_state(org: Org) -> BulkState:
    with _state_lock:
        state = org.extra.get("bulk")
        if state is None:
            state = org.extra["bulk"] = BulkState(org.name)
        return state


def now_iso() -> str:
    return format_datetime(datetime.now(UTC))
