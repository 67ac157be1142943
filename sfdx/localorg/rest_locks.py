"""Record locks for REST writes: a write request holds its rows' parents while it runs (see locking.py).

Write views are marked `@holds_parents` and call `hold_one`, `claim` or `apply_locked` before writing.
Their added latency (`Knobs.latency_ms`) is slept right after the parents are taken and outside the store
lock, so concurrent requests really overlap; app.py releases the parents when the request ends.
Subrequests of /composite share the outer request's holder.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import current_app, request

from . import dml
from .errors import SfError
from .ids import to18
from .locking import NOT_PARENTS, Holder, lock_error
from .schema import Field, SObjectType
from .store import Store
from .web import current_org

HOLDER, LATENCY_DUE, INTERNAL = "localorg.holder", "localorg.latency_due", "localorg.internal"
Row = tuple[SObjectType | None, Mapping[str, Any], str | None]   # object, values, the record's own id
V = TypeVar("V", bound=Callable[..., Any])
_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")


def holds_parents(view: V) -> V:
    """Mark a write view: its latency is slept while it holds its parents, not before it starts."""
    view.holds_parents = True  # type: ignore[attr-defined]
    return view


def defer_latency() -> bool:
    """before_request: True (and the latency is due) when the matched view sleeps it itself."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "holds_parents", False):
        request.environ[LATENCY_DUE] = True
        return True
    return False


def settle(latency_ms: int) -> None:
    """Sleep the request's latency if it is still due (never called with the store lock held)."""
    if request.environ.pop(LATENCY_DUE, False) and latency_ms:
        time.sleep(latency_ms / 1000)


def release() -> None:
    """teardown_request: the outer request lets go of everything it held."""
    holder = request.environ.get(HOLDER)
    if holder is not None and not request.environ.get(INTERNAL):
        holder.release()


def request_holder() -> Holder:
    holder = request.environ.get(HOLDER)
    if holder is None:
        holder = request.environ[HOLDER] = current_org().locks.holder()
    return holder


def _is_parent_field(f: Field) -> bool:
    return not set(f.reference_to) & set(NOT_PARENTS)


def own_record(store: Store, obj: SObjectType | None, key: str | None, value: Any) -> str | None:
    """The one live record of `obj` whose `key` is `value` (an upsert that updates locks that row)."""
    f = obj.field(key) if obj is not None and key else None
    if obj is None or f is None or value in (None, ""):
        return None
    with store.lock:
        try:
            found = store.match(store.table(obj.name), f, value)
        except SfError:
            return None
    return found[0] if len(found) == 1 else None


def _by_relationship(store: Store, obj: SObjectType, rel: str, value: dict[str, Any]) -> str | None:
    """The parent a relationship key names (`"Account": {"Ext__c": "A1"}`) when exactly one matches."""
    ref = obj.relationship(rel)
    kind = (value.get("attributes") or {}).get("type")
    target = store.schema.get(kind if isinstance(kind, str) else ref.reference_to[0]) if ref else None
    keys = [(k, v) for k, v in value.items() if k != "attributes"]
    if ref is None or target is None or len(keys) != 1 or not _is_parent_field(ref):
        return None
    f = target.field(keys[0][0])
    if f is None or not (f.external_id or f.id_lookup or f.name == "Id"):
        return None
    return own_record(store, target, f.name, keys[0][1])


def row_parents(store: Store, obj: SObjectType | None, values: Mapping[str, Any], own: str | None) -> list[str]:
    """The record ids a write of this row locks: its lookups' targets and the row itself."""
    out = [own] if own else []
    for key, value in values.items() if obj is not None else ():
        f = obj.field(key)  # type: ignore[union-attr]
        if f is not None and f.type == "reference" and isinstance(value, str) and _is_parent_field(f):
            rid = to18(value)
            if rid:
                out.append(rid)
        elif f is None and isinstance(value, dict):
            rid = _by_relationship(store, obj, key, value)  # type: ignore[arg-type]
            if rid:
                out.append(rid)
    return out


def claim(rows: list[Row]) -> list[SfError | None]:
    """Take each row's parents for this request; a row whose parents another writer holds may lose
    (UNABLE_TO_LOCK_ROW, per the seeded draw). Then the request's latency, holding what it took."""
    org = current_org()
    out: list[SfError | None] = [None] * len(rows)
    if org.knobs.lock_rate > 0 and rows:
        parents = [row_parents(org.store, obj, values, own) for obj, values, own in rows]
        lost = org.locks.claim_rows(request_holder(), parents, org.knobs.lock_rate, org.knobs.lock_seed)
        out = [lock_error(rid) if rid else None for rid in lost]
    settle(org.knobs.latency_ms)
    return out


def hold_one(obj: SObjectType, values: Mapping[str, Any], own: str | None = None,
             by_key: tuple[str, Any] | None = None) -> None:
    """A single-record call: HTTP 400 UNABLE_TO_LOCK_ROW when its parents could not be locked. `by_key`
    (field, value) names the record an upsert would update, looked up only when locks are modelled."""
    store, rate = current_org().store, current_org().knobs.lock_rate
    if by_key is not None and rate > 0:
        own = own_record(store, obj, *by_key)
    err = claim([(obj, values, own)])[0]
    if err is not None:
        raise err


def _collection_row(store: Store, op: str, obj_name: str | None, rec: Any, key: str | None) -> Row:
    if not isinstance(rec, dict):
        return None, {}, None
    if op in ("update", "delete"):
        rid = to18(rec["Id"]) if isinstance(rec.get("Id"), str) else None
        return (store.schema.by_prefix(rid[:3]) if rid else None), rec, rid
    name = obj_name or (rec.get("attributes") or {}).get("type")
    obj = store.schema.get(name) if isinstance(name, str) else None
    if op != "upsert" or not key:
        return obj, rec, None
    value = next((v for k, v in rec.items() if k.lower() == key.lower()), None)
    return obj, rec, own_record(store, obj, key, value)


def apply_locked(op: str, obj_name: str | None, records: list[Any], key_field: str | None = None,
                 all_or_none: bool = False, user: str | None = None) -> list[dml.RowResult]:
    """dml.apply for a collection, less the rows that lost their lock (every row, with allOrNone)."""
    store, rate = current_org().store, current_org().knobs.lock_rate
    rows = [_collection_row(store, op, obj_name, rec, key_field) for rec in records] if rate > 0 else []
    lost = claim(rows)
    if not any(lost):
        return dml.apply(store, op, obj_name, records, key_field, all_or_none, user=user)

    def failed(i: int, err: SfError) -> dml.RowResult:
        rid = records[i].get("Id") if op in ("update", "delete") and isinstance(records[i], dict) else None
        return dml.RowResult(rid, False, False, [err])

    if all_or_none:
        rolled = SfError("ALL_OR_NONE_OPERATION_ROLLED_BACK", dml.ROLLED_BACK, [])
        return [failed(i, err or rolled) for i, err in enumerate(lost)]
    kept = [rec for rec, err in zip(records, lost, strict=True) if err is None]
    done = iter(dml.apply(store, op, obj_name, kept, key_field, False, user=user))
    return [failed(i, err) if err else next(done) for i, err in enumerate(lost)]


def _ids_in(value: Any, out: set[str]) -> None:
    if isinstance(value, str):
        out.update(rid for m in _ID.finditer(value) if (rid := to18(m.group())))
    elif isinstance(value, dict):
        for v in value.values():
            _ids_in(v, out)
    elif isinstance(value, list):
        for v in value:
            _ids_in(v, out)


def reserve(subrequests: list[Any]) -> None:
    """/composite: take the existing records its write subrequests name, then sleep its latency; the
    subrequests claim their rows as they run, losing those another writer held here or holds then."""
    org = current_org()
    if org.knobs.lock_rate > 0:
        ids: set[str] = set()
        for sub in subrequests:
            if isinstance(sub, dict) and str(sub.get("method", "GET")).upper() != "GET":
                _ids_in([sub.get("url", ""), sub.get("body")], ids)
        with org.store.lock:
            found = [(rid, org.store.locate(rid)) for rid in sorted(ids)]
        parents = [rid for rid, (t, rec, _) in found
                   if t is not None and rec is not None and t.obj.name not in NOT_PARENTS]
        org.locks.reserve(request_holder(), parents)
    settle(org.knobs.latency_ms)
