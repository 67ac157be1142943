"""Lookup checks: a reference must point at an existing record of an allowed type; parent keys resolve."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import MultipleMatches, SfError
from .schema import Field, SObjectType
from .validation import ParentKey

if TYPE_CHECKING:
    from .catalog import Catalog


def check_reference(store: Catalog, obj: SObjectType, f: Field, rid: str) -> None:
    """Raise unless `rid` is a live record of a type the lookup allows.

    Wrong object type: FIELD_INTEGRITY_EXCEPTION "{Label}: id value of incorrect type: {id}" (as real orgs
    answer); no such record: INVALID_CROSS_REFERENCE_KEY; in the recycle bin: ENTITY_IS_DELETED.
    """
    t, rec, deleted = store.locate(rid)
    if t is None or t.obj.name not in f.reference_to:
        if f.name == "RecordTypeId":
            raise _bad_record_type(f, rid)
        raise SfError("FIELD_INTEGRITY_EXCEPTION", f"{f.label}: id value of incorrect type: {rid}", [f.name])
    if rec is None:
        if f.name == "RecordTypeId":
            raise _bad_record_type(f, rid)
        raise SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
    if deleted:
        raise SfError("ENTITY_IS_DELETED", "entity is deleted", [f.name])
    if f.name == "RecordTypeId" and (rec.get("SobjectType") != obj.name or not rec.get("IsActive", True)):
        raise _bad_record_type(f, rid)


def _bad_record_type(f: Field, rid: str) -> SfError:
    return SfError("INVALID_CROSS_REFERENCE_KEY", f"{f.label}: this ID value isn't valid for the user: {rid}",
                   [f.name])


def resolve_parent(store: Catalog, obj: SObjectType, p: ParentKey) -> str:
    """The id of the parent named by a key (Account.Ext__c, RecordType.DeveloperName)."""
    target_name = p.target or p.field.reference_to[0]
    if target_name not in p.field.reference_to:
        raise SfError("INVALID_FIELD", f"Invalid relationship type {target_name} for {p.field.relationship_name}")
    t = store.table(target_name)
    key = t.obj.field(p.key_field)
    if key is None:
        raise SfError("INVALID_FIELD", f"No such column '{p.key_field}' on sobject of type {t.obj.name}")
    matches: list[Any]
    if t.obj.name == "RecordType" and key.name == "DeveloperName":
        matches = [rid for rid, rec in t.rows.items()
                   if rec.get("DeveloperName") == p.value and rec.get("SobjectType") == obj.name]
    elif key.name == "Id" or key.external_id or key.id_lookup:
        matches = store.match(t, key, p.value)
    else:
        raise SfError("INVALID_FIELD", f"Field name provided, {key.name} is not an External ID or indexed "
                      f"field for {t.obj.name}")
    if not matches:
        raise SfError("INVALID_FIELD", f"Foreign key external ID: {p.value} not found for field {key.name} in "
                      f"entity {t.obj.name}", [])
    if len(matches) > 1:
        raise MultipleMatches(key.label, str(p.value), matches)
    return matches[0]
