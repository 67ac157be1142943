"""One object's records: live rows, the recycle bin, and the key indexes used by upsert and uniqueness."""

from __future__ import annotations

from typing import Any

from .schema import Field, SObjectType

Record = dict[str, Any]


def index_key(f: Field, value: Any) -> str | None:
    """Index form of a value: text compared case-insensitively unless the field is case-sensitive."""
    if value is None or value == "":
        return None
    s = value if isinstance(value, str) else str(value)
    return s if f.case_sensitive else s.lower()


class Table:
    """Records of one sObject type. Rows are replaced, never mutated, so readers can hold snapshots."""

    def __init__(self, obj: SObjectType) -> None:
        self.obj = obj
        self.rows: dict[str, Record] = {}
        self.bin: dict[str, Record] = {}
        self.indexes: dict[str, dict[str, list[str]]] = {}
        self.auto_number = 0
        self.version = 0   # bumped on every change; ad-hoc lookup indexes are rebuilt when it moves
        self._adhoc: dict[str, tuple[int, dict[str, list[str]]]] = {}
        self.refresh_indexes()

    def indexed_fields(self) -> list[Field]:
        return [f for f in self.obj.fields.values()
                if f.name != "Id" and (f.unique or f.external_id or f.id_lookup)]

    def refresh_indexes(self) -> None:
        """(Re)build indexes, e.g. after a field became an external id."""
        self.indexes = {f.name: {} for f in self.indexed_fields()}
        # parent id -> live child ids, for lookups that cascade deletes (no scans when a parent goes)
        self.children: dict[str, dict[str, set[str]]] = {
            f.name: {} for f in self.obj.fields.values() if f.cascade_delete}
        for rid, rec in self.rows.items():
            self._index(rid, rec, add=True)

    def _index(self, rid: str, rec: Record, add: bool) -> None:
        for name, kids in self.children.items():
            parent = rec.get(name)
            if parent is not None:
                if add:
                    kids.setdefault(parent, set()).add(rid)
                elif parent in kids:
                    kids[parent].discard(rid)
                    if not kids[parent]:
                        del kids[parent]
        for name, idx in self.indexes.items():
            f = self.obj.fields[name]
            key = index_key(f, rec.get(name))
            if key is None:
                continue
            ids = idx.get(key)
            if add:
                if ids is None:
                    idx[key] = [rid]
                elif rid not in ids:
                    ids.append(rid)
            elif ids is not None and rid in ids:
                ids.remove(rid)
                if not ids:
                    del idx[key]

    def put(self, rid: str, rec: Record) -> None:
        """Store `rec` as the live version of `rid` (replacing any previous one)."""
        self.version += 1
        old = self.rows.get(rid)
        if old is not None:
            self._index(rid, old, add=False)
        self.bin.pop(rid, None)
        self.rows[rid] = rec
        self._index(rid, rec, add=True)

    def to_bin(self, rid: str, stamp: str | None = None) -> Record:
        self.version += 1
        old = self.rows.pop(rid)
        self._index(rid, old, add=False)
        rec = dict(old, IsDeleted=True, **({"SystemModstamp": stamp} if stamp else {}))
        self.bin[rid] = rec
        return rec

    def purge(self, rid: str) -> None:
        self.version += 1
        old = self.rows.pop(rid, None)
        if old is not None:
            self._index(rid, old, add=False)
        self.bin.pop(rid, None)

    def restore_state(self, rid: str, live: Record | None, binned: Record | None) -> None:
        """Undo helper: put `rid` back exactly as it was (live, in the bin, or absent)."""
        self.purge(rid)
        if live is not None:
            self.put(rid, live)
        if binned is not None:
            self.bin[rid] = binned

    def find(self, field_name: str, value: Any) -> list[str]:
        """Live ids whose indexed `field_name` equals `value` (a scan for non-indexed fields)."""
        f = self.obj.fields[field_name]
        key = index_key(f, value)
        if key is None:
            return []
        idx = self.indexes.get(field_name)
        if idx is not None:
            return list(idx.get(key, ()))
        return [rid for rid, rec in self.rows.items() if index_key(f, rec.get(field_name)) == key]

    def lookup_index(self, f: Field) -> dict[str, list[str]]:
        """Live ids by lower-cased value of any text or reference field (SOQL `=` ignores case), built on
        first use and kept until the table changes: lookup batches against a big table stop scanning it."""
        cached = self._adhoc.get(f.name)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        idx: dict[str, list[str]] = {}
        name, ref = f.name, f.type in ("id", "reference")
        for rid, rec in self.rows.items():
            v = rec.get(name)
            if isinstance(v, str) and v:
                idx.setdefault(v if ref else v.lower(), []).append(rid)
        if len(self._adhoc) >= 8:   # a handful of looked-up fields per object is plenty
            self._adhoc.pop(next(iter(self._adhoc)))
        self._adhoc[f.name] = (self.version, idx)
        return idx
