"""Rows a Bulk job failed with UNABLE_TO_LOCK_ROW, sent again one REST call at a time with backoff.

Bulk writes rows in parallel; rows of one parent in different internal batches fight over the
parent's lock. Serial retries cannot collide with each other. The values come from the job's own
failed-results file (it echoes each uploaded row), so the sink needs to keep nothing but row keys.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from backend.pipeline.mapping import Mapping
from backend.pipeline.sinks.base import RowResults, collection_error
from backend.pipeline.sinks.bulk_csv import read_result, row_keys
from backend.salesforce.client import SalesforceClient

ROUNDS = 3
BATCH = 200
NULL = "#N/A"


def _record(row: pd.Series) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    for name, value in row.items():
        if value == "":
            continue
        value = None if value == NULL else value
        if "." in str(name):
            rel, fld = str(name).split(".", 1)
            if value is not None:
                rec[rel] = {fld: value}
        else:
            rec[str(name)] = value
    return rec


def retry_locked(client: SalesforceClient, mapping: Mapping, columns: list[str], failed_csv: bytes,
                 keys: np.ndarray, matched: RowResults, backoff: float) -> None:
    """Update `matched` in place for every locked row that a serial retry wrote (or failed otherwise)."""
    locked = np.flatnonzero(matched.locked())
    if not len(locked) or mapping.operation == "hardDelete":
        return
    failed = read_result(failed_csv)
    values = failed.iloc[:, 2:]
    values.columns = columns
    where = dict(zip(row_keys(values).tolist(), range(len(values)), strict=True))
    records = {int(p): _record(values.iloc[where[int(keys[p])]]) for p in locked if int(keys[p]) in where}
    op = mapping.operation
    for attempt in range(ROUNDS):
        todo = [p for p in locked if p in records and str(matched.errors[p]).startswith("UNABLE_TO_LOCK_ROW")]
        if not todo:
            return
        time.sleep(backoff * 2 ** attempt)
        for start in range(0, len(todo), BATCH):
            batch = todo[start:start + BATCH]
            items = client.collection(op, mapping.object, [records[p] for p in batch],
                                      mapping.match_key if op == "upsert" else None)
            for p, item in zip(batch, items, strict=True):
                ok = bool(item.get("success"))
                matched.ids[p] = item.get("id") or records[p].get("Id")
                matched.created[p] = ok and bool(item.get("created", op == "insert"))
                matched.errors[p] = "" if ok else collection_error(item)
