"""Bulk CSV both ways: upload bytes from mapped chunks, and result files matched back to the uploaded rows.

Bulk API 2.0 result files carry no row numbers and need not follow upload order, but they echo every
uploaded value. Each uploaded row is keyed by a hash of its values plus its occurrence count among
identical rows; result rows get the same key, so the match is exact (identical rows are
interchangeable: they would create identical records). All of it is vectorised.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from backend.errors import FatalSalesforceError
from backend.pipeline.chunk import STRING_DTYPE, value_bytes
from backend.pipeline.mapping import MappedChunk
from backend.pipeline.sinks.base import RowResults

NOT_PROCESSED = "NOT_PROCESSED:The Bulk job ended before Salesforce processed this row"
# pyarrow reads many blocks ahead (4 MiB blocks held about 80 MB); a result row must fit in one block,
# and Bulk API records are at most 400,000 characters.
BLOCK = 1 << 20
NO_RESULT = "NO_RESULT:Salesforce returned no result for this row"


def upload_frame(mapped: MappedChunk, operation: str) -> pd.DataFrame:
    """The chunk's values exactly as uploaded (blank "", explicit null "#N/A"); deletes send Id only."""
    frame = mapped.bulk_frame()
    if operation in ("delete", "hardDelete"):
        frame = frame[["Id"]]
    return frame


@dataclass(frozen=True)
class CsvRows:
    """A chunk's upload rows as Arrow columns, with the exact length their CSV bytes will have.

    The Bulk 2.0 sink sizes its jobs from `size` at once and leaves `encode` to its upload thread:
    pyarrow's writer lets go of the GIL, so the bytes of one chunk are written while the next one maps.
    """

    table: pa.Table
    quoting: str  # "none", or pyarrow's "needed", which quotes every string once any value needs quotes
    size: int  # len(self.encode(header=False))

    def encode(self, header: bool) -> bytes:
        """UTF-8 CSV, LF line endings; unquoted unless some value needs quotes (then every text is quoted)."""
        buf = io.BytesIO()
        pacsv.write_csv(self.table, buf, pacsv.WriteOptions(include_header=header, quoting_style=self.quoting))
        return buf.getvalue()


def csv_rows(frame: pd.DataFrame) -> CsvRows:
    """`frame` (any dtypes) as CsvRows: its columns' own Arrow arrays, no bytes written yet."""
    if not all(t == STRING_DTYPE for t in frame.dtypes):
        frame = frame.astype(STRING_DTYPE)
    # The columns' own Arrow arrays: Table.from_pandas would also build pandas metadata for every chunk.
    table = pa.table([pa.array(frame[c].array) for c in frame.columns], names=[str(c) for c in frame.columns])
    # Each column's bytes copied once, searched and measured there: no kernel over the values.
    raws = [[value_bytes(a) for a in col.chunks] for col in table.columns]
    # pyarrow's "needed" quotes every string: smaller uploads when no value needs it.
    quoted = any(c in raw for per in raws for raw in per for c in (b",", b'"', b"\r", b"\n"))
    # Each row: its values, a delimiter between them and a LF; quoted, two quotes per value and one more per `"`.
    size = table.num_rows * table.num_columns
    for col, per in zip(table.columns, raws, strict=True):
        if col.null_count:  # a null's slot may hold bytes: the values' own are counted
            size += pc.sum(pc.binary_length(col)).as_py() or 0
            quotes = (pc.sum(pc.count_substring(col, '"')).as_py() or 0) if quoted else 0
        else:
            size += sum(map(len, per))
            quotes = sum(raw.count(b'"') for raw in per if b'"' in raw) if quoted else 0  # `in` is a memchr
        if quoted:
            size += 2 * (len(col) - col.null_count) + quotes
    return CsvRows(table, "needed" if quoted else "none", size)


def csv_bytes(frame: pd.DataFrame, header: bool) -> bytes:
    """`frame` as Bulk API CSV bytes (see CsvRows.encode)."""
    return csv_rows(frame).encode(header)


def row_keys(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit key per row from all its values (same function for uploads and results)."""
    return arrow_row_keys([pa.array(frame[c].astype(STRING_DTYPE).array) for c in frame.columns], len(frame))


def arrow_row_keys(arrays: list[pa.Array], rows: int) -> np.ndarray:
    """`row_keys` of Arrow string columns.

    The row's values are joined by Arrow and hashed once per row, with the values' lengths mixed in so
    that ("ab", "c") and ("a", "bc") differ: a fifth of the CPU of hashing every cell as a Python string.
    """
    if rows == 0:
        return np.zeros(0, dtype=np.uint64)
    columns = [pc.fill_null(pc.cast(a, pa.large_string()), "") for a in arrays]
    joined = pc.binary_join_element_wise(*columns, pa.scalar("", pa.large_string()))
    keys = pd.util.hash_array(joined.to_numpy(zero_copy_only=False), categorize=False)
    lengths = np.zeros(rows, dtype=np.uint64)
    for col in columns:
        # Overflow wraps modulo 2**64, as a hash may.
        size = pc.binary_length(col).to_numpy(zero_copy_only=False).astype(np.uint64)
        lengths = lengths * np.uint64(1_000_003) + size
    return keys ^ pd.util.hash_array(lengths)


def read_result(data: bytes) -> pd.DataFrame:
    """A result CSV as strings (empty cells stay "")."""
    if not data.strip():
        return pd.DataFrame()
    first = data.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
    names = next(csv.reader([first]))
    table = pacsv.read_csv(io.BytesIO(data), parse_options=pacsv.ParseOptions(newlines_in_values=True),
                           convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                                strings_can_be_null=False,
                                                                quoted_strings_can_be_null=False))
    return table.to_pandas(types_mapper={pa.string(): STRING_DTYPE}.get)


def _blocks(source: bytes | BinaryIO, width: int) -> Iterator[pa.RecordBatch]:
    """A result file in blocks of rows (columns c0..), all text; a stream is never read whole."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    names = [f"c{i}" for i in range(width)]
    try:
        reader = pacsv.open_csv(stream, read_options=pacsv.ReadOptions(column_names=names, skip_rows=1,
                                                                        block_size=BLOCK),
                                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                                     strings_can_be_null=False,
                                                                     quoted_strings_can_be_null=False))
    except pa.ArrowInvalid as err:
        if "Empty CSV" in str(err):
            return
        raise FatalSalesforceError("A Bulk result file could not be read.", detail=str(err)) from None
    yield from reader


def results_frame(columns: list[str], success: bytes | BinaryIO, failed: bytes | BinaryIO,
                  unprocessed: bytes | BinaryIO, job_error: str | None = None) -> pd.DataFrame:
    """One frame of every result row: key, id, created, error (read block by block in Arrow, kept compact)."""
    parts = []
    for data, kind in ((success, "ok"), (failed, "failed"), (unprocessed, "unprocessed")):
        lead = 0 if kind == "unprocessed" else 2
        for batch in _blocks(data, lead + len(columns)):
            n = batch.num_rows
            ids = batch.column(0).to_numpy(zero_copy_only=False) if lead else np.full(n, "", dtype=object)
            created = (pc.equal(batch.column(1), "true").to_numpy(zero_copy_only=False) if kind == "ok"
                       else np.zeros(n, bool))
            if kind == "failed":  # "FIELD_X:message:--" -> "FIELD_X:message"
                error = pc.utf8_rtrim(pc.replace_substring_regex(batch.column(1), "--$", "", max_replacements=1),
                                      characters=" :").to_numpy(zero_copy_only=False)
            else:
                error = np.full(n, "" if kind == "ok" else NOT_PROCESSED + (f" ({job_error})" if job_error else ""),
                                dtype=object)
            parts.append(pd.DataFrame({"key": arrow_row_keys(batch.columns[lead:], n), "id": ids,
                                       "created": created, "error": error}))
    if not parts:
        return pd.DataFrame({"key": np.zeros(0, np.uint64), "id": [], "created": [], "error": []})
    return pd.concat(parts, ignore_index=True)


def match_results(keys: np.ndarray, results: pd.DataFrame) -> RowResults:
    """RowResults aligned with uploaded rows whose keys are `keys` (upload order).

    Rows whose values came back changed (Salesforce may echo a number in another notation) match no
    key; they are paired in file order with the result rows no key claimed, which is the order
    Salesforce writes in practice, so the count of results always adds up.
    """
    pos = _pair(np.asarray(keys, dtype=np.uint64), results["key"].to_numpy(dtype=np.uint64))
    lost = np.flatnonzero(pos < 0)
    if len(lost):
        used = np.zeros(len(results), dtype=bool)
        used[pos[pos >= 0]] = True
        spare = np.flatnonzero(~used)
        take = min(len(lost), len(spare))
        pos[lost[:take]] = spare[:take]
    out = RowResults.empty(len(keys))
    found = pos >= 0
    if not found.any():
        out.errors[:] = NO_RESULT
        return out
    at = np.where(found, pos, 0)
    ids = results["id"].to_numpy(dtype=object)[at]
    out.ids[:] = np.where(found & (ids != ""), ids, None)
    out.created[:] = found & results["created"].to_numpy(dtype=bool)[at]
    out.errors[:] = np.where(found, results["error"].to_numpy(dtype=object)[at], NO_RESULT)
    return out


def _pair(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """For each left key, the position of the right row with the same key and the same occurrence number
    among equal keys (both in their own order), or -1. Sorted arrays and binary search, no join."""
    pos = np.full(len(left), -1, dtype=np.int64)
    if not len(left) or not len(right):
        return pos
    lo, ro = np.argsort(left, kind="stable"), np.argsort(right, kind="stable")
    ls, rs = left[lo], right[ro]
    starts = np.flatnonzero(np.r_[True, ls[1:] != ls[:-1]])  # where each run of equal left keys begins
    occ = np.arange(len(ls)) - np.repeat(starts, np.diff(np.r_[starts, len(ls)]))
    cand = np.searchsorted(rs, ls, side="left") + occ
    ok = cand < np.searchsorted(rs, ls, side="right")
    pos[lo[ok]] = ro[cand[ok]]
    return pos
