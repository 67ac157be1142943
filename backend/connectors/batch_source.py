"""A Source over Arrow record batches a database driver hands over (PostgreSQL through ADBC).

The batches' columns are text already (the connector renders every type in SQL), so a chunk is the
batch's own buffers: no parse, no Python object per value. Row numbers count as in a CSV file with a
header row (the first row is 2), as for the other databases (`rows.RowSource`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from backend.pipeline.chunk import MAX_CHUNK_ROWS, Chunk, default_chunk_rows, frame_from_arrow
from backend.pipeline.sources.base import Source

OpenBatches = Callable[[], Iterator[pa.RecordBatch]]


class BatchSource(Source):
    """Rows from `open_batches` (a fresh stream of record batches per call), `columns` known up front."""

    label = "Database table"

    def __init__(self, columns: list[str], open_batches: OpenBatches, *, chunk_size: int | None = None) -> None:
        super().__init__({}, chunk_size=chunk_size)
        self._columns, self._open_batches = list(columns), open_batches

    def columns(self) -> list[str]:
        return list(self._columns)

    def chunk_rows(self, columns: int) -> int:
        # Twice the engine's default: no parse buffers or read-ahead blocks are held here (the CSV reader's
        # are), so a run stays under the CSV path's peak RSS, with half the per-chunk costs (docs/benchmarks.md).
        return self.chunk_size or min(MAX_CHUNK_ROWS, 2 * default_chunk_rows(columns))

    def test_connection(self) -> None:
        next(iter(self.read()), None)

    def read(self) -> Iterator[Chunk]:
        size, line, pending, held = self.chunk_rows(len(self._columns)), 2, [], 0
        batches = self._open_batches()
        try:
            for batch in batches:
                pending.append(batch)
                held += batch.num_rows
                while held >= size:
                    table = pa.Table.from_batches(pending)
                    rest = table.slice(size)
                    pending, held = rest.to_batches(), rest.num_rows
                    yield self._chunk(table.slice(0, size), line)
                    line += size
            if held:
                yield self._chunk(pa.Table.from_batches(pending), line)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # also when the reader stops early: the driver lets go of the connection

    def _chunk(self, table: pa.Table, first_line: int) -> Chunk:
        # One buffer per column, NULL as "" (a chunk's empty cell is never NA), as the CSV source gives them.
        columns = []
        for column in table.columns:
            a = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
            if not pa.types.is_string(a.type):
                a = a.cast(pa.string())
            columns.append(pc.fill_null(a, "") if a.null_count else a)
        frame = frame_from_arrow(self._columns, columns)
        return Chunk(frame, np.arange(first_line, first_line + table.num_rows, dtype=np.int64), [])
