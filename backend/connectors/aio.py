"""One private event loop in a daemon thread, so synchronous callers (sources, the CLI) can use asyncio clients."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")
_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def _the_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="inflow-connectors-aio", daemon=True).start()
        return _loop


def run(coro: Awaitable[T], timeout: float = 120) -> T:
    """Run `coro` on the private loop and wait for its result (its exception is raised here)."""
    return asyncio.run_coroutine_threadsafe(coro, _the_loop()).result(timeout)


class SyncReader(io.RawIOBase):
    """A blocking binary stream over an async `read(n)`; `closer` runs (on the loop) when it is closed."""

    def __init__(self, read: Callable[[int], Awaitable[bytes]], closer: Callable[[], Awaitable[Any]],
                 translate: Callable[[Exception], Exception] | None = None) -> None:
        self._read, self._closer, self._translate = read, closer, translate

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = run(self._read(len(target)))
        except Exception as err:
            if self._translate is None:
                raise
            raise self._translate(err) from None
        n = len(data)
        target[:n] = data
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                run(self._closer(), timeout=10)
            finally:
                super().close()
