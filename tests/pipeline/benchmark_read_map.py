"""Benchmark (not a test): read + map a large CSV vs pyarrow's own CSV read+write, in rows per second.

Run: .venv/bin/python -m tests.pipeline.benchmark_read_map [ROWS]
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pacsv

from backend.pipeline.mapping import FieldMapping, Mapper, Mapping, Options
from backend.pipeline.sources import create_source
from tests.pipeline.helpers import field

COLUMNS = ["Id", "FirstName", "LastName", "Email", "Amount", "CloseDate", "Stage", "City", "Country", "Notes"]
DESCRIBE = {"name": "Lead", "fields": [
    field("FirstName", "First Name", length=40), field("LastName", "Last Name", length=80, nillable=False),
    field("Email", "Email", "email"), field("Amount__c", "Amount", "currency", precision=18, scale=2),
    field("Close_Date__c", "Close Date", "date"), field("City", "City", length=40),
    field("Description", "Description", "textarea", length=32000)]}
MAPPING = Mapping("Lead", fields=[
    FieldMapping("FirstName", column="FirstName"),
    FieldMapping("LastName", formula="UPPER([LastName])"),                     # transform 1: formula
    FieldMapping("Email", column="Email"),
    FieldMapping("Amount__c", column="Amount"),                                # transform 2: number parsing
    FieldMapping("Close_Date__c", column="CloseDate"),                         # transform 3: date parsing
    FieldMapping("City", column="City"), FieldMapping("Description", column="Notes")],
    options=Options(date_formats=["iso"]))


def make_file(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(rows):
            w.writerow([i, f"first{i % 977}", f"Last{i % 1013}", f"user{i}@example.com", f"{i * 1.5:.2f}",
                        f"2026-03-{i % 28 + 1:02d}", "Prospecting", "Berlin", "DE",
                        "a note, with comma" if i % 10 == 0 else "plain"])


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.csv"
        make_file(path, rows)
        start = time.perf_counter()
        pacsv.write_csv(pacsv.read_csv(path), Path(tmp) / "out.csv")
        arrow = rows / (time.perf_counter() - start)
        start = time.perf_counter()
        source = create_source("csv", {}, open_stream=lambda: path.open("rb"))
        mapper = Mapper(MAPPING, DESCRIBE, source.columns())
        mapped = errors = 0
        for chunk in source.read():
            out = mapper.map_chunk(chunk)
            mapped += len(out)
            errors += len(out.errors)
        ours = rows / (time.perf_counter() - start)
    print(f"pyarrow read+write: {arrow:,.0f} rows/s; inflow read+map: {ours:,.0f} rows/s "
          f"({ours / arrow:.2f}x); mapped {mapped:,}, errors {errors:,}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
