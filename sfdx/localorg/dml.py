"""Batch DML over a Store with per-row results: the shared engine of collections, composite and Bulk.

`apply(store, op, obj, rows, ...)` returns one RowResult per input row, in input order.
With all_or_none=True nothing is kept if any row fails, and the rows that were fine get
ALL_OR_NONE_OPERATION_ROLLED_BACK, as sObject Collections answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from .errors import SfError
from .store import Store
from .values import format_datetime

ROLLED_BACK = ("Record rolled back because not all records were valid and the request was using AllOrNone "
               "header")
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete", "undelete")


class RowResult(NamedTuple):
    id: str | None
    success: bool
    created: bool
    errors: list[SfError]

    def collection(self, with_created: bool = False) -> dict[str, Any]:
        """The sObject Collections JSON element for this row."""
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        out["success"] = self.success
        out["errors"] = [e.collection() for e in self.errors]
        if with_created:
            out["created"] = self.created
        return out


class _Abort(Exception):
    pass


def apply_row(store: Store, op: str, obj: str | None, row: Mapping[str, Any], key_field: str | None = None,
              csv: bool = False, user: str | None = None, now: str | None = None) -> RowResult:
    """One row of `op`; errors become a failed RowResult (never raised)."""
    rid = row.get("Id") if op != "insert" else None
    if obj is None and op in ("insert", "upsert"):
        obj = (row.get("attributes") or {}).get("type")
        if not obj:
            return RowResult(None, False, False, [SfError("INVALID_TYPE", "Must send a concrete entity type.")])
    try:
        if op == "insert":
            return RowResult(store.insert(obj or "", row, csv, user, now), True, True, [])
        if op == "update":
            values = {k: v for k, v in row.items() if k.lower() != "id"}
            if rid in (None, ""):
                raise SfError("MISSING_ARGUMENT", "Id not specified in an update call", [])
            return RowResult(store.update(obj, rid, values, csv, user, now), True, False, [])
        if op == "upsert":
            key = key_field or "Id"
            value = next((v for k, v in row.items() if k.lower() == key.lower()), None)
            values = {k: v for k, v in row.items() if k.lower() != "id"} if key.lower() == "id" else row
            new_id, created = store.upsert(obj or "", key, value, values, csv, user)
            return RowResult(new_id, True, created, [])
        if op in ("delete", "hardDelete", "undelete"):
            if rid in (None, ""):
                raise SfError("MISSING_ARGUMENT", "Id not specified", [])
            fn = {"delete": store.delete, "hardDelete": store.hard_delete}.get(op)
            return RowResult(fn(rid, obj) if fn else store.undelete(rid), True, False, [])
        raise SfError("INVALID_OPERATION", f"unsupported operation {op}")
    except SfError as err:
        return RowResult(rid if isinstance(rid, str) and op != "insert" and err.code != "MALFORMED_ID"
                         else None, False, False, [err])


def apply(store: Store, op: str, obj: str | None, rows: Sequence[Mapping[str, Any]], key_field: str | None = None,
          all_or_none: bool = False, csv: bool = False, user: str | None = None) -> list[RowResult]:
    """Apply `op` to every row; see module docstring for all-or-none semantics."""
    now = format_datetime(datetime.now(UTC))
    results: list[RowResult] = []
    if not all_or_none:
        with store.lock:
            return [apply_row(store, op, obj, r, key_field, csv, user, now) for r in rows]
    try:
        with store.transaction():
            for r in rows:
                results.append(apply_row(store, op, obj, r, key_field, csv, user, now))
            if any(not res.success for res in results):
                raise _Abort
    except _Abort:
        rolled = SfError("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK, [])
        return [res if not res.success else RowResult(res.id if op != "insert" and op != "upsert" else None,
                                                       False, False, [rolled]) for res in results]
    return results
