"""Engine test helpers: localorg fixtures, in-memory Journal and ResultParts (the caller's side), run helpers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from backend.pipeline.mapping import FieldMapping, Lookup, Mapping
from backend.pipeline.runner import RunContext, RunResult, run
from backend.pipeline.sources import create_source, stream_opener
from backend.salesforce.client import SalesforceClient

__all__ = ["FieldMapping", "Lookup", "Mapping"]


class MemoryJournal:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.puts = 0

    def get(self, key: str) -> Any | None:
        import copy
        return copy.deepcopy(self.data.get(key))

    def put(self, key: str, value: Any) -> None:
        import json
        self.puts += 1
        self.data[key] = json.loads(json.dumps(value))

    def keys(self) -> list[str]:
        return list(self.data)


class _Part(io.BytesIO):
    def __init__(self, store: dict[str, bytes], name: str) -> None:
        super().__init__()
        self.store, self.name = store, name

    def close(self) -> None:
        if not self.closed:
            self.store[self.name] = self.getvalue()
        super().close()


class MemoryParts:
    """ResultParts in memory; `csv_rows(kind)` joins the parts like Runs does (one header)."""

    def __init__(self) -> None:
        self.parts: dict[str, bytes] = {}

    def open_part(self, name: str) -> _Part:
        return _Part(self.parts, name)

    def snapshot(self, name: str) -> _Part:
        return _Part(self.parts, name)

    def has_part(self, name: str) -> bool:
        return name in self.parts

    def read(self, name: str) -> io.BytesIO | None:
        return io.BytesIO(self.parts[name]) if name in self.parts else None

    def csv_rows(self, kind: str) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        for name in sorted(n for n in self.parts if n.startswith(kind + "/")):
            rows += list(csv.DictReader(io.StringIO(self.parts[name].decode("utf-8"))))
        return rows


@pytest.fixture
def client(org, localorg) -> SalesforceClient:  # noqa: F811
    return SalesforceClient(org.instance_url, org.ready_token, ca_bundle=str(localorg.ca_path))


def csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


def source_of(data: bytes, chunk_size: int = 10_000):
    return create_source("csv", {}, open_stream=stream_opener(data), chunk_size=chunk_size)


def start(client: SalesforceClient, data: bytes, mapping: Mapping, *, api: str = "rest", chunk_size: int = 10_000,
          journal: MemoryJournal | None = None, parts: MemoryParts | None = None, **kw: Any
          ) -> tuple[RunResult, MemoryJournal, MemoryParts]:
    journal = journal if journal is not None else MemoryJournal()
    parts = parts if parts is not None else MemoryParts()
    options = {"lock_backoff": 0.01, **kw.pop("sink_options", {})}
    ctx = RunContext(source=source_of(data, chunk_size), mapping=mapping, client=client, journal=journal,
                     results=parts, api=api, sink_options=options, **kw)
    return run(ctx), journal, parts


def records(org: Any, sobject: str) -> list[dict[str, Any]]:
    """Live records of `sobject` straight from localorg's store (the org's truth, not our client)."""
    return [dict(r) for r in org.store.table(sobject).rows.values()]
