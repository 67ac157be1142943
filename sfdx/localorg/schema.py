"""Object and field definitions (the org's schema), looked up case-insensitively like Salesforce."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist", "multipicklist",
                        "combobox", "encryptedstring"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})
SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
    "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double", "date": "xsd:date",
    "datetime": "xsd:dateTime", "time": "xsd:time", "address": "urn:address",
}


@dataclass(slots=True)
class Field:
    """One field of an sObject; attribute names mirror the describe keys in snake_case."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default: Any = None
    unique: bool = False
    case_sensitive: bool = False
    external_id: bool = False
    id_lookup: bool = False
    name_field: bool = False
    picklist: list[str] | None = None
    picklist_default: str | None = None
    restricted: bool = False
    reference_to: list[str] = field(default_factory=list)
    relationship_name: str | None = None
    child_relationship: str | None = None
    cascade_delete: bool = False
    precision: int = 0
    scale: int = 0
    digits: int = 0
    custom: bool = False
    calculated: bool = False
    auto_number: bool = False
    display_format: str | None = None   # auto numbers: "RUN-{000000}"
    compound_field_name: str | None = None
    extra_type_info: str | None = None
    filterable: bool = True
    html_formatted: bool = False

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.name.removesuffix("__c").replace("_", " ")

    @property
    def required(self) -> bool:
        """True when a create must supply a value (Salesforce: not nillable, createable, not defaulted)."""
        return (not self.nillable and self.createable and not self.defaulted_on_create
                and self.type != "boolean")

    @property
    def soap_type(self) -> str:
        return SOAP_TYPES.get(self.type, "xsd:string")

    @property
    def polymorphic(self) -> bool:
        return len(self.reference_to) > 1


@dataclass
class RecordTypeInfo:
    """A record type of one object, addressable by its DeveloperName."""

    id: str
    developer_name: str
    name: str
    active: bool = True
    default: bool = False


@dataclass
class SObjectType:
    """An sObject: fields by canonical name plus a lower-cased index for case-insensitive lookups."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    custom: bool = False
    fields: dict[str, Field] = field(default_factory=dict)
    record_types: list[RecordTypeInfo] = field(default_factory=list)
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    undeletable: bool = True
    _ci: dict[str, Field] = field(default_factory=dict, repr=False)
    _rel: dict[str, Field] = field(default_factory=dict, repr=False)
    version: int = 0
    validators: dict[Any, Any] = field(default_factory=dict, repr=False)  # caches keyed by kind

    def add(self, *fields: Field) -> SObjectType:
        for f in fields:
            self.fields[f.name] = f
            self._ci[f.name.lower()] = f
            if f.relationship_name:
                self._rel[f.relationship_name.lower()] = f
        self.version += 1
        return self

    def field(self, name: str) -> Field | None:
        """The field called `name` (any case), or None."""
        return self._ci.get(name.lower())

    def relationship(self, name: str) -> Field | None:
        """The reference field whose relationshipName is `name` (any case), or None."""
        return self._rel.get(name.lower())

    @property
    def name_field(self) -> Field | None:
        return next((f for f in self.fields.values() if f.name_field), None)

    def record_type(self, key: str) -> RecordTypeInfo | None:
        """A record type by 18/15-char id or by DeveloperName."""
        for rt in self.record_types:
            if rt.id == key or rt.id[:15] == key or rt.developer_name == key:
                return rt
        return None


class Schema:
    """All objects of an org, by name (case-insensitive) and by key prefix."""

    def __init__(self) -> None:
        self.objects: dict[str, SObjectType] = {}
        self._ci: dict[str, SObjectType] = {}
        self._prefix: dict[str, SObjectType] = {}

    def add(self, obj: SObjectType) -> SObjectType:
        self.objects[obj.name] = obj
        self._ci[obj.name.lower()] = obj
        self._prefix[obj.key_prefix] = obj
        return obj

    def get(self, name: str) -> SObjectType | None:
        return self._ci.get(name.lower())

    def by_prefix(self, prefix: str) -> SObjectType | None:
        return self._prefix.get(prefix)

    def children_of(self, name: str) -> list[tuple[SObjectType, Field]]:
        """(child object, reference field) pairs pointing at object `name`."""
        out = []
        for obj in self.objects.values():
            for f in obj.fields.values():
                if f.type == "reference" and name in f.reference_to:
                    out.append((obj, f))
        return out
