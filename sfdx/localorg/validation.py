"""Record validation in one place: REST, composite and Bulk paths call `validator(obj, csv).clean(...)`.

A validator is compiled once per (object, schema version, input kind) and cached, so validating a
row is a dict walk plus one small converter call per value (Bulk calls it per CSV row).
Data-dependent checks (lookups exist, unique values) live in `store.Store`, which calls this first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import SfError
from .schema import Field, SObjectType
from .values import Converter, converter

_UNWRITABLE = ("Unable to create/update fields: {0}. Please check the security settings of this field and "
               "verify that it is read/write for your profile or permission set.")


class ParentKey(NamedTuple):
    """A lookup given by a parent's key instead of its Id: Account.Ext__c = 'A-1' (or RecordType by name)."""

    field: Field          # the reference field on the child (AccountId)
    target: str | None    # explicit parent type for polymorphic lookups (Lead:Who.Email)
    key_field: str        # field on the parent (Ext__c, Email, DeveloperName)
    value: Any


class Cleaned(NamedTuple):
    values: dict[str, Any]
    parents: list[ParentKey]


class RecordValidator:
    """Converts and checks one record's values for one object (JSON or CSV input rules)."""

    def __init__(self, obj: SObjectType, csv: bool = False) -> None:
        self.obj = obj
        self.csv = csv
        self.version = obj.version
        self.fields: dict[str, tuple[Field, Converter]] = {
            name: (f, converter(f, csv)) for name, f in obj._ci.items()}
        self.required = [f for f in obj.fields.values() if f.required and f.name != "OwnerId"]
        self.defaults = {f.name: f.default for f in obj.fields.values()
                         if f.default is not None and f.createable}
        self._plans: dict[bool, dict[str, tuple[str | None, Converter | None]]] = {True: {}, False: {}}

    def clean(self, values: Mapping[str, Any], insert: bool) -> Cleaned:
        """Return converted values keyed by API name, or raise the first SfError Salesforce would report."""
        out: dict[str, Any] = {}
        parents: list[ParentKey] = []
        plans = self._plans[insert]
        csv = self.csv
        for key, raw in values.items():
            plan = plans.get(key)
            if plan is None:
                plan = plans[key] = self._plan(key, insert)
            name, conv = plan
            if conv is None:
                if name is None:
                    if key == "attributes" or self._parent_key(key, raw, parents):
                        continue
                    raise SfError("INVALID_FIELD", f"No such column '{key}' on sobject of type {self.obj.name}")
                if raw is None or raw == "" or not insert:
                    continue  # Id: ignored unless an insert sets it
                raise SfError("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"])
            if csv and (raw == "" or raw == "#N/A"):
                if raw == "" and not insert:
                    continue  # Bulk: an empty cell on update leaves the value alone; #N/A clears it
                raw = None
            out[name] = None if raw is None else conv(raw)
        if insert:
            for name, value in self.defaults.items():
                if out.get(name) is None:
                    out[name] = value
        if self.required or not insert:
            self._check_required(out, insert, parents)
        return Cleaned(out, parents)

    def _plan(self, key: str, insert: bool) -> tuple[str | None, Converter | None]:
        """How to treat column `key` (cached per exact spelling, since rows of one batch share keys)."""
        entry = self.fields.get(key.lower())
        if entry is None:
            return None, None
        f, conv = entry
        if f.name == "Id":
            return "Id", None
        if not (f.createable if insert else f.updateable):
            raise SfError("INVALID_FIELD_FOR_INSERT_UPDATE", _UNWRITABLE.format(f.name), [f.name])
        return f.name, conv

    def _check_required(self, out: dict[str, Any], insert: bool, parents: list[ParentKey]) -> None:
        if insert:
            missing = [f.name for f in self.required if out.get(f.name) in (None, "")]
            if missing and parents:
                given = {p.field.name for p in parents}
                missing = [m for m in missing if m not in given]
        else:
            missing = [f.name for f in self.required if f.name in out and out[f.name] in (None, "")]
        if missing:
            raise SfError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                          missing)

    def _parent_key(self, key: str, raw: Any, parents: list[ParentKey]) -> bool:
        """Recognise `Account: {"Ext__c": v}` (JSON) and `Account.Ext__c` / `Lead:Who.Email` (CSV)."""
        if isinstance(raw, dict):
            ref = self.obj.relationship(key)
            items = [(k, v) for k, v in raw.items() if k != "attributes"]
            if ref is None or len(items) != 1:
                return False
            target = (raw.get("attributes") or {}).get("type")
            parents.append(ParentKey(ref, target, items[0][0], items[0][1]))
            return True
        if "." not in key:
            return False
        rel, _, key_field = key.partition(".")
        target, _, rel = rel.rpartition(":")
        ref = self.obj.relationship(rel)
        if ref is None:
            return False
        if raw not in (None, ""):
            parents.append(ParentKey(ref, target or None, key_field, raw))
        return True


def validator(obj: SObjectType, csv: bool = False) -> RecordValidator:
    """The validator for `obj`, cached on the object and recompiled when its fields change."""
    v = obj.validators.get(csv)
    if v is None or v.version != obj.version:
        v = obj.validators[csv] = RecordValidator(obj, csv)
    return v
