"""The record store of one org: validated writes, recycle bin and all-or-none transactions over a Catalog.

Every write path (REST, composite, Bulk) goes through `Store.insert/update/upsert/delete/undelete/
hard_delete` or the batch form `dml.apply`. Writes hold `Store.lock`; readers take snapshots.
Extension point: `Store.before_write` hooks `(op, obj_name, record_id | None) -> SfError | None`
run before each row is written (the Bulk engineer's row-lock contention plugs in here).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from . import pricebooks
from .catalog import Catalog
from .derived import derive, reference_names
from .errors import MultipleMatches, SfError, entity_deleted, not_found
from .ids import IdFactory, to18
from .references import check_reference, resolve_parent
from .schema import Schema, SObjectType
from .table import Record, Table
from .validation import ParentKey, validator
from .values import format_datetime

WriteHook = Callable[[str, str, "str | None"], "SfError | None"]


class Store(Catalog):
    """Records of one org, keyed by 18-character id; objects come from `schema`, lookups from Catalog."""

    def __init__(self, schema: Schema, ids: IdFactory) -> None:
        super().__init__(schema)
        self.ids = ids
        self.lock = threading.RLock()
        self.default_user: str | None = None
        self.before_write: list[WriteHook] = []
        self._undo: list[tuple[Table, str, Record | None, Record | None]] | None = None
        self._cascaded: dict[str, list[tuple[Table, str]]] = {}  # parent id -> children deleted with it

    # ---- transactions --------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-none: writes inside are undone if the block raises."""
        with self.lock:
            outer = self._undo
            self._undo = []
            try:
                yield
            except BaseException:
                for t, rid, live, binned in reversed(self._undo):
                    t.restore_state(rid, live, binned)
                raise
            finally:
                done, self._undo = self._undo, outer
                if outer is not None:
                    outer.extend(done)

    def _remember(self, t: Table, rid: str) -> None:
        if self._undo is not None:
            self._undo.append((t, rid, t.rows.get(rid), t.bin.get(rid)))

    def _hooks(self, op: str, obj: str, rid: str | None) -> None:
        for hook in self.before_write:
            err = hook(op, obj, rid)
            if err is not None:
                raise err

    # ---- writes --------------------------------------------------------------------------------
    def insert(self, obj_name: str, values: Mapping[str, Any], csv: bool = False, user: str | None = None,
               now: str | None = None) -> str:
        """Validate and create one record; returns its id or raises SfError."""
        t = self.table(obj_name)
        obj = t.obj
        if not obj.createable:
            raise SfError("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", f"entity type cannot be inserted: {obj.name}")
        clean = validator(obj, csv).clean(values, insert=True)
        with self.lock:
            rec = clean.values
            self._resolve(obj, rec, clean.parents)
            pricebooks.on_insert(self, obj.name, rec)
            self._hooks("insert", obj.name, None)
            user = user or self.default_user
            if "OwnerId" in obj.fields and rec.get("OwnerId") is None:
                rec["OwnerId"] = user
            self._check_unique(t, rec, None)
            rid = self.ids.new(obj.key_prefix)
            now = now or format_datetime(datetime.now(UTC))
            rec.update(Id=rid, IsDeleted=False, CreatedDate=now, CreatedById=user, LastModifiedDate=now,
                       LastModifiedById=user, SystemModstamp=now)
            derive(t, rec, insert=True)
            self._remember(t, rid)
            t.put(rid, rec)
            return rid

    def update(self, obj_name: str | None, rid: str, values: Mapping[str, Any], csv: bool = False,
               user: str | None = None, now: str | None = None) -> str:
        """Validate and update record `rid`; `obj_name` (when given) must match the id's type."""
        t, old = self._live(obj_name, rid)
        clean = validator(t.obj, csv).clean(values, insert=False)
        with self.lock:
            t, old = self._live(obj_name, rid)
            changes = clean.values
            self._resolve(t.obj, changes, clean.parents)
            self._hooks("update", t.obj.name, old["Id"])
            rec = dict(old)
            rec.update(changes)
            self._check_unique(t, rec, old["Id"])
            now = now or format_datetime(datetime.now(UTC))
            rec.update(LastModifiedDate=now, LastModifiedById=user or self.default_user, SystemModstamp=now)
            derive(t, rec, insert=False)
            self._remember(t, old["Id"])
            t.put(old["Id"], rec)
            return old["Id"]

    def upsert(self, obj_name: str, key_field: str, key_value: Any, values: Mapping[str, Any],
               csv: bool = False, user: str | None = None) -> tuple[str, bool]:
        """Update the one record whose `key_field` equals `key_value`, or create it: (id, created).

        Raises MultipleMatches when several records match, SfError NOT_FOUND for a non-key field.
        """
        t = self.table(obj_name)
        f = self.key_field(t.obj, key_field)
        if f.name != "Id" and key_value in (None, ""):
            raise SfError("MISSING_ARGUMENT", f"{f.name} not specified", [])
        with self.lock:
            matches = self.match(t, f, key_value)
            if len(matches) > 1:
                raise MultipleMatches(f.label, str(key_value), matches)
            if matches:
                return self.update(t.obj.name, matches[0], values, csv, user), False
            if f.name == "Id":
                if key_value not in (None, ""):
                    raise not_found()
                return self.insert(t.obj.name, values, csv, user), True
            data = dict(values)
            if not any(k.lower() == f.name.lower() for k in data):
                data[f.name] = key_value
            return self.insert(t.obj.name, data, csv, user), True

    def delete(self, rid: str, obj_name: str | None = None) -> str:
        """Move a record to the recycle bin (IsDeleted = true)."""
        with self.lock:
            t, old = self._live(obj_name, rid)
            if not t.obj.deletable:
                raise SfError("INVALID_OPERATION", f"entity type cannot be deleted: {t.obj.name}")
            self._hooks("delete", t.obj.name, old["Id"])
            self._remember(t, old["Id"])
            t.to_bin(old["Id"], _stamp())  # a delete is a write: replication finds it by SystemModstamp
            self._cascade(t.obj, old["Id"])
            return old["Id"]

    def undelete(self, rid: str) -> str:
        """Restore a record from the recycle bin."""
        with self.lock:
            full = self._full_id(rid)
            t, rec, deleted = self.locate(full)
            if t is None or rec is None:
                raise SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            if not deleted:
                raise SfError("UNDELETE_FAILED", "Entity is not in the recycle bin")
            self._check_unique(t, rec, full)
            self._remember(t, full)
            t.put(full, dict(rec, IsDeleted=False, SystemModstamp=_stamp()))
            self._restore_children(full)
            return full

    def _restore_children(self, parent_id: str) -> None:
        for ct, cid in self._cascaded.pop(parent_id, []):
            if cid in ct.bin:
                self._remember(ct, cid)
                ct.put(cid, dict(ct.bin[cid], IsDeleted=False, SystemModstamp=_stamp()))
                self._restore_children(cid)

    def hard_delete(self, rid: str, obj_name: str | None = None) -> str:
        """Remove a record for good (live or binned)."""
        with self.lock:
            full = self._full_id(rid)
            t, rec, deleted = self.locate(full)
            if t is None or rec is None or (obj_name and t.obj.name.lower() != obj_name.lower()):
                raise SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            self._hooks("hardDelete", t.obj.name, full)
            if not deleted:
                self._cascade(t.obj, full)  # children of a live parent go for good with it
            self._remember(t, full)
            t.purge(full)
            self._purge_children(full)
            return full

    def _purge_children(self, parent_id: str) -> None:
        for ct, cid in self._cascaded.pop(parent_id, []):
            self._remember(ct, cid)
            ct.purge(cid)
            self._purge_children(cid)

    # ---- helpers -------------------------------------------------------------------------------
    def _full_id(self, rid: str) -> str:
        full = to18(rid) if isinstance(rid, str) else None
        if full is None:
            raise SfError("MALFORMED_ID", f"malformed id {rid}")
        return full

    def _live(self, obj_name: str | None, rid: str) -> tuple[Table, Record]:
        full = self._full_id(rid)
        t, rec, deleted = self.locate(full)
        if t is None or rec is None or (obj_name and t.obj.name.lower() != obj_name.lower()):
            if t is not None and obj_name and t.obj.name.lower() != obj_name.lower():
                raise SfError("MALFORMED_ID", f"malformed id {rid}")
            raise SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", status=404)
        if deleted:
            raise entity_deleted()
        return t, rec

    def _check_unique(self, t: Table, rec: Record, own_id: str | None) -> None:
        for name in t.indexes:
            f = t.obj.fields[name]
            if not f.unique or rec.get(name) in (None, ""):
                continue
            others = [i for i in t.find(name, rec[name]) if i != own_id]
            if others:
                raise SfError("DUPLICATE_VALUE", f"duplicate value found: {name} duplicates value on record "
                              f"with id: {others[0][:15]}", [])

    def _resolve(self, obj: SObjectType, rec: Record, parents: list[ParentKey]) -> None:
        for p in parents:
            rec[p.field.name] = resolve_parent(self, obj, p)
        fields = obj.fields
        for name in reference_names(obj).intersection(rec):
            if rec[name] is not None:
                check_reference(self, obj, fields[name], rec[name])

    def _cascade(self, obj: SObjectType, parent_id: str) -> None:
        """Delete children whose lookup cascades (master-detail, Account's contacts, activities, ...)."""
        for child, f in self.schema.children_of(obj.name):
            if not f.cascade_delete:
                continue
            ct = self.table(child.name)
            for rid in list(ct.children.get(f.name, {}).get(parent_id, ())):
                if rid in ct.rows:
                    self._remember(ct, rid)
                    ct.to_bin(rid, _stamp())
                    self._cascaded.setdefault(parent_id, []).append((ct, rid))
                    self._cascade(child, rid)


def _stamp() -> str:
    return format_datetime(datetime.now(UTC))
