"""Export pages as Arrow tables of string columns: REST records, and Bulk 2.0 CSV pages the byte path cannot take.

Only imported when a page needs it (backend/pipeline/export/bulk_csv.py writes most Bulk pages without
pyarrow), so an export that never needs a table never loads pyarrow.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv


def records_table(records: list[dict[str, Any]], names: list[str]) -> pa.Table:
    """REST query records as one string column per SELECT item."""
    return pa.table({n: pa.array([_text(_value(r, n)) for r in records], pa.string()) for n in names})


def _value(record: Any, path: str) -> Any:
    """A dotted path through nested parent records, matching keys without regard to case."""
    for part in path.split("."):
        if not isinstance(record, dict):
            return None
        if part in record:
            record = record[part]
            continue
        lower = part.lower()
        record = next((v for k, v in record.items() if k.lower() == lower), None)
    return record


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict):  # a null parent or a compound left whole
        return None if value is None else ";".join(f"{k}={v}" for k, v in value.items() if k != "attributes")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def csv_table(body: bytes | bytearray, names: list[str]) -> pa.Table:
    """One Bulk result page (header line, then quoted rows) as string columns renamed to our SELECT items."""
    header_end = body.find(b"\n")
    if header_end < 0 or header_end + 1 >= len(body):
        return pa.table({n: pa.array([], pa.string()) for n in names})
    header = next(csv.reader([bytes(body[:header_end]).decode("utf-8-sig")]))
    theirs = [f"c{i}" for i in range(len(header))]
    table = pacsv.read_csv(
        io.BytesIO(body), read_options=pacsv.ReadOptions(column_names=theirs, skip_rows=1, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(theirs, pa.string()),
                                             null_values=[""], strings_can_be_null=True,
                                             quoted_strings_can_be_null=True))  # "" is Bulk's null
    return table.rename_columns(names if len(names) == len(header) else header)
