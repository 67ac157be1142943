"""Sinks write mapped chunks to Salesforce: REST collections, Bulk API 2.0, Bulk API 1.0 serial.

`choose_sink(api, row_count_hint, operation)`: an explicit choice wins; otherwise REST below
REST_THRESHOLD rows and Bulk 2.0 at or above it (or when the count is unknown). hardDelete exists
only in the Bulk APIs. `make_sink(api, ...)` builds the sink for that choice.
"""

from __future__ import annotations

from typing import Any

from backend.errors import ConfigError
from backend.pipeline.mapping import Mapping
from backend.pipeline.sinks.base import Journal, Outcome, RowResults
from backend.salesforce.client import SalesforceClient

REST_THRESHOLD = 2_000
APIS = ("auto", "rest", "bulk2", "bulk1")


def choose_sink(api: str, row_count_hint: int | None, operation: str = "insert") -> str:
    """The API a run uses: "rest", "bulk2" or "bulk1"."""
    if api not in APIS:
        raise ConfigError(f"Unknown API '{api}'; choose one of {', '.join(APIS)}.")
    if api == "rest" and operation == "hardDelete":
        raise ConfigError("Hard delete needs a Bulk API; choose Bulk API 2.0 or 1.0.")
    if api != "auto":
        return api
    if operation != "hardDelete" and row_count_hint is not None and row_count_hint < REST_THRESHOLD:
        return "rest"
    return "bulk2"


def make_sink(api: str, client: SalesforceClient, mapping: Mapping, journal: Journal, *,
              heartbeat: Any = None, **options: Any) -> Any:
    if api == "rest":
        from backend.pipeline.sinks.rest import RestSink
        return RestSink(client, mapping, journal, heartbeat=heartbeat, **_only(options, "threads", "lock_backoff"))
    if api == "bulk2":
        from backend.pipeline.sinks.bulk2 import Bulk2Sink
        return Bulk2Sink(client, mapping, journal, heartbeat=heartbeat, **options)
    if api == "bulk1":
        from backend.pipeline.sinks.bulk1 import Bulk1Sink
        return Bulk1Sink(client, mapping, journal, heartbeat=heartbeat, **_only(options, "lock_backoff", "poll"))
    raise ConfigError(f"Unknown API '{api}'.")


def _only(options: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in names}


__all__ = ["APIS", "REST_THRESHOLD", "Journal", "Outcome", "RowResults", "choose_sink", "make_sink"]
