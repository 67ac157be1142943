"""The Bulk 2.0 sink sizes its jobs before the bytes are written (its upload thread writes them): the size it
counts must be exactly what is sent, or a job could pass Salesforce's 100 MB limit."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.sinks.bulk_csv import csv_bytes, csv_rows

TRICKY = ["plain", "", "a,b", 'say "hi"', '""', "two\nlines", "cr\r\nlf", "Zürich", "日本", "😀,\"", " padded "]


@pytest.mark.parametrize("seed", range(40))
def test_counted_size_is_the_size_of_the_bytes_sent(seed: int) -> None:
    rnd = random.Random(seed)
    columns = {}
    for c in range(rnd.randint(1, 5)):
        pool = TRICKY if rnd.random() < 0.5 else TRICKY[:2] + TRICKY[7:9]  # some frames need no quotes at all
        values = [None if rnd.random() < 0.2 else rnd.choice(pool) for _ in range(rnd.randint(0, 30))]
        columns[f"F{c}"] = values
    rows = max(len(v) for v in columns.values())
    frame = pd.DataFrame({k: pd.array(v + [None] * (rows - len(v)), dtype=STRING_DTYPE) for k, v in columns.items()})
    counted = csv_rows(frame)
    assert counted.size == len(counted.encode(header=False)) == len(csv_bytes(frame, header=False))
    header = counted.encode(header=True)
    assert header.endswith(counted.encode(header=False)) and header.startswith(b'"F0"')
    # A slice of the rows (as a filter leaves them) and columns in several pieces count only their own values.
    part = frame.iloc[rows // 3:].reset_index(drop=True)
    pieces = pd.DataFrame({k: pd.concat([part[k].iloc[:2], part[k].iloc[2:]], ignore_index=True) for k in part})
    for f in (part, pieces):
        fresh = pd.DataFrame({k: pd.array(f[k].tolist(), dtype=STRING_DTYPE) for k in f})
        rows_of_f = csv_rows(f)
        assert rows_of_f.size == len(rows_of_f.encode(header=False))
        assert rows_of_f.encode(header=False) == csv_bytes(fresh, header=False)


def test_values_that_need_quotes_are_quoted_and_others_are_sent_bare() -> None:
    bare = pd.DataFrame({"Name": pd.array(["Ada", "Zürich"], dtype=STRING_DTYPE)})
    assert csv_rows(bare).encode(header=False) == "Ada\nZürich\n".encode()
    quoted = pd.DataFrame({"Name": pd.array(['say "hi"', None, "a,b"], dtype=STRING_DTYPE)})
    rows = csv_rows(quoted)
    assert rows.encode(header=False) == b'"say ""hi"""\n\n"a,b"\n' and rows.size == 20
