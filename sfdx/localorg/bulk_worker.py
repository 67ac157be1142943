"""The per-org Bulk worker (one daemon thread running queued jobs in order) and the org's Bulk state."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .values import format_datetime

if TYPE_CHECKING:
    from .org import Org


class BulkWorker:
    """A per-org FIFO of bulk work run by one daemon thread, started on demand and ended when idle."""

    IDLE_SECONDS = 5.0

    def __init__(self, name: str) -> None:
        self.name = name
        self._q: queue.Queue[Callable[[], None]] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, fn: Callable[[], None]) -> None:
        with self._lock:
            self._q.put(fn)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"localorg-bulk:{self.name}", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                fn = self._q.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._q.empty():
                        self._thread = None
                        return
                continue
            try:
                fn()
            except Exception:  # a bug in one job must not stop the org's queue
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
