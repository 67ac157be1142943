"""Catalog: an org's tables by object and the lookups across them (by name, by id live or binned, by key).

The read side of Store, kept below it so that what the store's writes call on (references.py) can look
records up without importing the store.
"""

from __future__ import annotations

from typing import Any

from .errors import SfError, not_found
from .ids import to18
from .schema import Field, Schema, SObjectType
from .table import Record, Table
from .validation import validator


class Catalog:
    """The tables of one org, made on first use for each object of `schema`."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.tables: dict[str, Table] = {}

    def sobject(self, name: str) -> SObjectType:
        obj = self.schema.get(name)
        if obj is None:
            raise not_found()
        return obj

    def table(self, name: str) -> Table:
        obj = self.sobject(name)
        t = self.tables.get(obj.name)
        if t is None or t.obj is not obj:
            t = self.tables[obj.name] = Table(obj)
        return t

    def locate(self, rid: str) -> tuple[Table | None, Record | None, bool]:
        """(table, record, is_deleted) for an 18-char id; table is None for an unknown key prefix."""
        obj = self.schema.by_prefix(rid[:3])
        if obj is None:
            return None, None, False
        t = self.table(obj.name)
        rec = t.rows.get(rid)
        if rec is not None:
            return t, rec, False
        rec = t.bin.get(rid)
        return t, rec, rec is not None

    def get(self, rid: str) -> Record | None:
        """The live record with id `rid` (15 or 18 chars), or None."""
        full = to18(rid)
        if full is None:
            return None
        t, rec, deleted = self.locate(full)
        return None if deleted else rec

    def count(self, name: str) -> int:
        return len(self.table(name).rows)

    def key_field(self, obj: SObjectType, name: str) -> Field:
        """The upsert key `name` on `obj` (Id, an External ID or an idLookup field)."""
        f = obj.field(name)
        if f is None or not (f.external_id or f.id_lookup):
            raise SfError("NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}",
                          status=404, with_fields=False)
        return f

    def match(self, t: Table, f: Field, value: Any) -> list[str]:
        if f.name == "Id":
            full = to18(value) if isinstance(value, str) else None
            if value not in (None, "") and full is None:
                raise SfError("MALFORMED_ID", f"malformed id {value}")
            return [full] if full and full in t.rows else []
        if f.type in ("int", "double", "currency", "percent") and isinstance(value, str):
            value = validator(t.obj, True).fields[f.name.lower()][1](value)
        return t.find(f.name, value)
