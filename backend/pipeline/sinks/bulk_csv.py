"""Bulk CSV both ways: upload bytes from mapped chunks, and result files matched back to the uploaded rows.

Bulk API 2.0 result files carry no row numbers and need not follow upload order, but they echo every
uploaded value. Each uploaded row is keyed by a hash of its values plus its occurrence count among
identical rows; result rows get the same key, so the match is exact (identical rows are
interchangeable: they would create identical records). All of it is vectorised.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.errors import FatalSalesforceError
from backend.pipeline.mapping import MappedChunk
from backend.pipeline.sinks.base import RowResults

NOT_PROCESSED = "NOT_PROCESSED:The Bulk job ended before Salesforce processed this row"
NO_RESULT = "NO_RESULT:Salesforce returned no result for this row"


def upload_frame(mapped: MappedChunk, operation: str) -> pd.DataFrame:
    """The chunk's values exactly as uploaded (blank "", explicit null "#N/A"); deletes send Id only."""
    frame = mapped.bulk_frame()
    if operation in ("delete", "hardDelete"):
        frame = frame[["Id"]]
    return frame


def csv_bytes(frame: pd.DataFrame, header: bool) -> bytes:
    """UTF-8 CSV, LF line endings, quoted only where needed."""
    table = pa.Table.from_pandas(frame.astype(STRING_DTYPE), preserve_index=False)
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=header, quoting_style="needed"))
    return buf.getvalue()


def row_keys(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit key per row from all its values (same function for uploads and results)."""
    if len(frame) == 0:
        return np.zeros(0, dtype=np.uint64)
    return pd.util.hash_pandas_object(frame.astype(STRING_DTYPE), index=False).to_numpy()


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


def results_frame(columns: list[str], success: bytes, failed: bytes, unprocessed: bytes) -> pd.DataFrame:
    """One frame of every result row: key, id, created, error."""
    parts = []
    for data, kind in ((success, "ok"), (failed, "failed"), (unprocessed, "unprocessed")):
        frame = read_result(data)
        if frame.empty:
            continue
        n = len(frame)
        ids = frame["sf__Id"].to_numpy(dtype=object) if "sf__Id" in frame else np.full(n, "", dtype=object)
        created = (frame["sf__Created"] == "true").to_numpy(dtype=bool) if kind == "ok" else np.zeros(n, bool)
        error = {"ok": np.full(n, "", dtype=object), "unprocessed": np.full(n, NOT_PROCESSED, dtype=object)
                 }.get(kind)
        if error is None:
            error = frame["sf__Error"].str.removesuffix("--").str.rstrip(" :").to_numpy(dtype=object)
        values = frame.iloc[:, 0 if kind == "unprocessed" else 2:]
        if values.shape[1] != len(columns):
            raise FatalSalesforceError("A Bulk result file does not have the uploaded columns.",
                                       detail=f"{list(frame.columns)} vs {columns}")
        parts.append(pd.DataFrame({"key": row_keys(values), "id": ids, "created": created, "error": error}))
    if not parts:
        return pd.DataFrame({"key": np.zeros(0, np.uint64), "id": [], "created": [], "error": []})
    return pd.concat(parts, ignore_index=True)


def match_results(keys: np.ndarray, results: pd.DataFrame) -> RowResults:
    """RowResults aligned with uploaded rows whose keys are `keys` (upload order)."""
    left = pd.DataFrame({"key": keys})
    left["occ"] = left.groupby("key").cumcount()
    right = results.copy()
    right["occ"] = right.groupby("key").cumcount()
    merged = left.merge(right, on=["key", "occ"], how="left", sort=False)
    out = RowResults.empty(len(keys))
    found = merged["error"].notna().to_numpy()
    ids = merged["id"].to_numpy(dtype=object)
    out.ids[:] = np.where(found & (ids != ""), ids, None)
    out.created[:] = merged["created"].fillna(False).to_numpy(dtype=bool)
    out.errors[:] = np.where(found, merged["error"].to_numpy(dtype=object), NO_RESULT)
    return out
