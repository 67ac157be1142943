"""Per-chunk result parts: success and error CSVs (complete files, header and no BOM) and rollback notes.

Part names: `success/000012`, `error/000012`; rollback snapshots `rollback/before/000012` (previous values
of records an update or upsert changes, written before the write) and `rollback/after/000012` (ids the
write created, updated or deleted). Runs joins the CSV parts into the final files (keeping one header).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc  # noqa: F401  (pa.ipc)

from backend.pipeline.cells import escape_frame
from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.mapping import MappedChunk
from backend.pipeline.results import ErrorFileWriter, SuccessFileWriter
from backend.pipeline.sinks.base import Outcome


class ResultParts(Protocol):
    """Where result parts and rollback snapshots go (Runs implements it over the encrypted blob store)."""

    def open_part(self, name: str) -> BinaryIO: ...

    def has_part(self, name: str) -> bool: ...

    def snapshot(self, name: str) -> BinaryIO: ...

    def read(self, name: str) -> BinaryIO | None: ...


def part_name(kind: str, index: int) -> str:
    return f"{kind}/{index:06d}"


def write_chunk_parts(results: ResultParts, outcome: Outcome, columns: list[str]) -> tuple[int, int, int]:
    """Write the success and error parts of a finished chunk; returns (succeeded, failed, created)."""
    m, r = outcome.mapped, outcome.results
    order = np.argsort(m.row_numbers, kind="stable")  # the sinks may have sorted rows by parent
    ok = r.ok[order]
    good, bad = order[ok], order[~ok]
    if len(good):
        with results.open_part(part_name("success", outcome.index)) as out:
            write_success(out, m.source.iloc[good], r.ids[good], r.created[good], columns)
    if len(bad) or m.errors:
        buf = io.BytesIO()
        writer = ErrorFileWriter(buf, columns, bom=False)
        writer.write_errors(e for e in m.errors)
        if len(bad):
            writer.write(m.source.iloc[bad], list(m.row_numbers[bad]), list(r.errors[bad]))
        _put(results, part_name("error", outcome.index), buf)
    return int(len(good)), int(len(bad) + len(m.errors)), int(np.count_nonzero(r.created[good]))


SUCCESS_SLICE = 4096


def write_success(out: BinaryIO, source: pd.DataFrame, ids: np.ndarray, created: np.ndarray,
                  columns: list[str]) -> None:
    """The success part as SuccessFileWriter lays it out (no BOM), written vectorised by pyarrow into
    `out` a slice of rows at a time."""
    head = io.BytesIO()
    SuccessFileWriter(head, columns, bom=False)
    body = source.reindex(columns=columns)
    body.columns = [f"c{i}" for i in range(len(columns))]  # source names may clash with sf__ names
    body.insert(0, "created", pd.array(np.where(created, "true", "false"), dtype=STRING_DTYPE))
    body.insert(0, "id", pd.array(ids, dtype=STRING_DTYPE))
    body = escape_frame(body)  # ids and flags are checked too, from their buffers, not cell by cell
    out.write(head.getvalue())
    table = pa.Table.from_pandas(body, preserve_index=False)
    options = pacsv.WriteOptions(include_header=False, eol="\r\n")
    for start in range(0, table.num_rows, SUCCESS_SLICE):  # a slice at a time: the part is never whole in memory
        piece = io.BytesIO()
        pacsv.write_csv(table.slice(start, SUCCESS_SLICE), piece, options)
        out.write(piece.getvalue())


def _put(results: ResultParts, name: str, buf: io.BytesIO) -> None:
    with results.open_part(name) as out:
        out.write(buf.getvalue())


def write_snapshot(results: ResultParts, name: str, data: dict[str, Any]) -> None:
    with results.snapshot(name) as out:
        out.write(json.dumps(data, separators=(",", ":")).encode())


def read_snapshot(results: ResultParts, name: str) -> dict[str, Any] | None:
    stream = results.read(name)
    if stream is None:
        return None
    with stream:
        return json.loads(stream.read() or b"null")


def write_after_snapshot(results: ResultParts, outcome: Outcome, sobject: str, operation: str) -> None:
    """What rollback must undo for this chunk: created ids, updated ids, deleted ids."""
    r = outcome.results
    ok = r.ok
    ids = [str(i) for i in r.ids[ok].tolist()]  # tolist: no numpy scalar per row
    created = r.created[ok].astype(bool).tolist()
    write_snapshot(results, part_name("rollback/after", outcome.index),
                   {"object": sobject, "operation": operation, "ids": ids, "created": created})


@dataclass(frozen=True)
class Parked:
    """A chunk waiting for its results: source values as LZ4-compressed Arrow IPC, mapped values dropped.

    Bulk jobs keep several chunks waiting; compressed, their source values take about a quarter of the
    memory, and no slice of a bigger Arrow buffer (the read block, the mapped frame) is kept alive.
    """

    mapped: MappedChunk
    source: bytes

    @classmethod
    def of(cls, mapped: MappedChunk) -> Parked:
        table = pa.Table.from_pandas(mapped.source.astype(STRING_DTYPE), preserve_index=False)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as w:
            w.write_table(table)
        empty = pd.DataFrame({c: pd.array([], dtype=STRING_DTYPE) for c in mapped.frame.columns})
        return cls(replace(mapped, frame=empty, source=empty.iloc[:, :0]), sink.getvalue().to_pybytes())

    def unpark(self) -> MappedChunk:
        table = pa.ipc.open_stream(self.source).read_all()
        source = table.to_pandas(types_mapper={pa.string(): STRING_DTYPE}.get)
        return replace(self.mapped, source=source)
