"""The unit of data flowing through the engine: a column-oriented block of source rows as strings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

DEFAULT_CHUNK_SIZE = 5_000  # rows, for a table of about 50 columns; see default_chunk_rows
# A chunk's mapping allocates several copies of it; 200,000 cells keep a 1,000,000-row run under 400 MB
# (docs/benchmarks.md), at about 10 % less speed than half a million.
DEFAULT_CHUNK_CELLS = 200_000
MIN_CHUNK_ROWS, MAX_CHUNK_ROWS = 1_000, 50_000
STRING_DTYPE = pd.StringDtype("pyarrow")


def default_chunk_rows(columns: int) -> int:
    """Rows per chunk when the caller does not choose: about 200,000 cells.

    Per-chunk costs are fixed (a few dozen vector calls per field), so narrow files get big chunks
    (10 columns: 20,000 rows) and wide ones small chunks (1,000 columns: 1,000 rows) for flat memory.
    """
    return max(MIN_CHUNK_ROWS, min(MAX_CHUNK_ROWS, DEFAULT_CHUNK_CELLS // max(columns, 1)))


@dataclass(frozen=True)
class RejectedRow:
    """A source record that could not be read (e.g. wrong number of fields); goes to the error file."""

    row_number: int
    message: str
    raw_values: tuple[str, ...] = ()


@dataclass
class Chunk:
    """Source rows as a DataFrame of strings plus where each row came from.

    - `frame`: one column per source column, in source order, dtype `STRING_DTYPE`; an empty cell is
      `""`, never NA. The index is 0..n-1.
    - `row_numbers`: int64 array aligned with `frame`; the physical line number of the first line of
      each record (header = line 1 in a CSV) or the sheet row number in Excel.
    - `rejected`: records of this stretch of the source that could not be read.
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def __len__(self) -> int:
        return len(self.frame)


def frame_from_columns(columns: Sequence[str], values: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Build a chunk frame from column-wise Python sequences of strings (one sequence per column)."""
    data = {name: pd.array(list(col), dtype=STRING_DTYPE) for name, col in zip(columns, values, strict=True)}
    return pd.DataFrame(data, columns=list(columns))


def frame_from_arrow(names: Sequence[str], columns: Sequence[pa.Array | pa.ChunkedArray]) -> pd.DataFrame:
    """A chunk frame over Arrow string columns without copying the values. `Table.to_pandas` with a types
    mapper builds the same frame at 2.5 times the cost per chunk (pandas metadata, blocks)."""
    if len(set(names)) != len(names):  # a dict would keep one of two equal names
        table = pa.table(list(columns), names=list(names))
        return table.to_pandas(types_mapper=lambda t: STRING_DTYPE if t in (pa.string(), pa.large_string()) else None)
    return pd.DataFrame({n: pd.array(c, dtype=STRING_DTYPE) for n, c in zip(names, columns, strict=True)}, copy=False)


def make_chunk(columns: Sequence[str], rows: Sequence[Sequence[str]], row_numbers: Sequence[int],
               rejected: list[RejectedRow] | None = None) -> Chunk:
    """Build a chunk from row-wise data (each row as long as `columns`); handy for tests and small sources."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return Chunk(frame_from_columns(columns, cols), np.asarray(row_numbers, dtype=np.int64), rejected or [])


def value_bytes(arr: pa.Array) -> bytes:
    """A string array's bytes from its first value's start to its last value's end (one copy); a null's slot
    is included, and holds no bytes unless a kernel left some there."""
    bufs = arr.buffers()
    if not len(arr) or len(bufs) < 3 or bufs[2] is None:
        return b""
    offsets = np.frombuffer(bufs[1], dtype=np.int64 if pa.types.is_large_string(arr.type) else np.int32)
    return memoryview(bufs[2])[int(offsets[arr.offset]):int(offsets[arr.offset + len(arr)])].tobytes()


def holds_any_byte(columns: Sequence[pa.Array | pa.ChunkedArray], chars: bytes) -> bool:
    """Whether any string value of `columns` may contain one of `chars`: a memchr over the values' bytes
    (about 1 ms for 6 MB), far cheaper than a string kernel per column. May say yes for bytes in a null's slot."""
    for col in columns:
        for arr in (col.chunks if isinstance(col, pa.ChunkedArray) else [col]):
            raw = value_bytes(arr)
            if any(bytes([c]) in raw for c in chars):
                return True
    return False
