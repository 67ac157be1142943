"""read_ahead(items): the next item is made in a thread while the caller uses this one.

The runner reads source chunks this way: reading is mostly pyarrow's CSV parser (or openpyxl), which runs
outside the GIL, so on two cores the read of chunk N+1 overlaps the mapping of chunk N (about 30 % of a
run's CPU time no longer waits). The blob store reads a file's chunks this way: the database fetches the
next one while the caller writes this one. One item is held ahead, so memory holds one item more.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """Yield `items` in order, produced one ahead by a thread; its exception is raised here, in order."""
    out: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(out, item, stop) or stop.is_set():
                    return
            _put(out, _DONE, stop)
        except BaseException as err:  # handed to the consumer, which raises it where the item would be
            _put(out, _Failure(err), stop)
        finally:
            close = getattr(items, "close", None)
            if stop.is_set() and close is not None:
                close()  # the consumer stopped early: let the source release its stream

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while (item := out.get()) is not _DONE:
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        try:  # a producer waiting on the full queue goes on at once and sees the stop
            out.get_nowait()
        except queue.Empty:
            pass
        thread.join()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(out: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put unless the consumer has gone; False once it has."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
