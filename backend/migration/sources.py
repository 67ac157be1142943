"""Where a step's rows come from, as chunks of strings: `Source Id` (the source key) plus one column per field.

An org step queries the source org (REST query, page by page); a file step reads a CSV through the
engine's csv source, a connection step what its saved connection's source reads; both rename their key, field
and reference columns to field names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import numpy as np

from backend.errors import ConfigError
from backend.migration.bulkquery import bulk_query_chunks, start_query
from backend.migration.plan import FileSource, RowSource
from backend.migration.translate import text
from backend.pipeline.chunk import Chunk, default_chunk_rows, frame_from_columns
from backend.pipeline.sources import Source, create_source
from backend.salesforce.client import SalesforceClient

KEY = "Source Id"


BULK_QUERY_ROWS = 10_000  # at least this many records: a Bulk 2.0 query job instead of REST query pages


class OrgReader:
    """A step's rows from the source org. `start()` asks for them early: a large object's Bulk 2.0 query job
    then runs in Salesforce while the steps before this one write."""

    def __init__(self, client: SalesforceClient, sobject: str, fields: list[str], where: str | None,
                 chunk_rows: int | None = None, order_by: str | None = None) -> None:
        self.client, self.sobject, self.where, self.order_by = client, sobject, where, order_by
        self.names = list(dict.fromkeys(["Id", *fields]))
        self.columns = [KEY, *[n for n in self.names if n != "Id"]]
        self.size = chunk_rows or default_chunk_rows(len(self.names))
        self.count: int | None = None
        self.job_id: str | None = None

    def _soql(self, select: str, ordered: bool = True) -> str:
        soql = f"SELECT {select} FROM {self.sobject}" + (f" WHERE {self.where}" if self.where else "")
        return soql + (f" ORDER BY {self.order_by}" if ordered and self.order_by else "")

    def start(self) -> None:
        if self.count is None:
            count = self.client.json("GET", "query/", params={"q": self._soql("COUNT()", ordered=False)})
            self.count = int(count["totalSize"])
            if self.count >= BULK_QUERY_ROWS:
                self.job_id = start_query(self.client, self._soql(", ".join(self.names)))

    def chunks(self) -> Iterator[Chunk]:
        self.start()
        if self.job_id is not None:
            job_id, self.job_id, self.count = self.job_id, None, None  # a job's results are read once
            yield from bulk_query_chunks(self.client, job_id, self.names, self.columns, self.size)
            return
        self.count = None
        batch: list[list[str]] = [[] for _ in self.names]
        start = 1
        for rec in self.client.query(self._soql(", ".join(self.names))):
            for col, name in zip(batch, self.names, strict=True):
                col.append(text(rec.get(name)))
            if len(batch[0]) == self.size:
                numbers = np.arange(start, start + self.size, dtype=np.int64)
                yield Chunk(frame_from_columns(self.columns, batch), numbers)
                start += self.size
                batch = [[] for _ in self.names]
        if batch[0] or start == 1:
            n = len(batch[0])
            yield Chunk(frame_from_columns(self.columns, batch), np.arange(start, start + n, dtype=np.int64))


def keyed_fields(spec: RowSource, source: Source, name: str) -> list[str]:
    """The step's field names (columns, then references); checks that `source` (called `name`) has those columns."""
    columns = source.columns()
    take = {**spec.columns, **spec.references}
    missing = [c for c in [spec.key, *take.values()] if c not in columns]
    if missing:
        raise ConfigError(f"{name}: no column {', '.join(map(repr, missing))}.")
    return list(take)


def keyed_chunks(spec: RowSource, source: Source) -> Iterator[Chunk]:
    take = {**spec.columns, **spec.references}
    for chunk in source.read():
        frame = chunk.frame[[spec.key, *take.values()]].copy()
        frame.columns = [KEY, *take]
        yield Chunk(frame, chunk.row_numbers, chunk.rejected)


def file_fields(spec: FileSource, base: Path) -> list[str]:
    handles: list[BinaryIO] = []
    try:
        return keyed_fields(spec, _csv(spec, base, handles, None), spec.file)
    finally:
        for h in handles:
            h.close()


def file_chunks(spec: FileSource, base: Path, chunk_rows: int | None = None) -> Iterator[Chunk]:
    handles: list[BinaryIO] = []
    try:
        yield from keyed_chunks(spec, _csv(spec, base, handles, chunk_rows))
    finally:
        for h in handles:
            h.close()


def _csv(spec: FileSource, base: Path, handles: list[BinaryIO], chunk_rows: int | None) -> Source:
    path = Path(spec.file) if Path(spec.file).is_absolute() else base / spec.file

    def opener() -> BinaryIO:
        handles.append(path.open("rb"))
        return handles[-1]
    return create_source("csv", {}, open_stream=opener, chunk_size=chunk_rows)


class StepSource(Source):
    """Prepared chunks handed to the import runner; not registered (never chosen by name)."""

    type: ClassVar[str] = "migrate-step"
    label: ClassVar[str] = "Migration step"

    def __init__(self, columns: list[str], chunks: Callable[[], Iterator[Chunk]]) -> None:
        super().__init__({})
        self._columns, self._chunks = columns, chunks

    def columns(self) -> list[str]:
        return list(self._columns)

    def read(self) -> Iterator[Chunk]:
        return self._chunks()

    def test_connection(self) -> None:
        return None


def source_describe_fields(describe: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in describe.get("fields", [])}
