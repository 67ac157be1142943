"""Test HTTP servers that stop cleanly: requests still running finish before the test's database goes."""

from __future__ import annotations

from typing import Any


def track_requests(server: Any) -> None:
    """Keep the request threads (werkzeug makes them daemons nobody waits for)."""
    server.daemon_threads, server.block_on_close = False, True


def stop_server(server: Any, thread: Any) -> None:
    """Stop serving and let requests still running (a UI poll, say) finish before the test's database goes:
    a request cut off by the drop leaves its connection to be collected later, in another test."""
    server.shutdown()
    thread.join(5)
    for request in list(vars(server).get("_threads", [])):  # set once a request came in
        request.join(15)
