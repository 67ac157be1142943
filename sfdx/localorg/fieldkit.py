"""Short constructors for Field definitions, shared by standard objects, metadata and tests."""

from __future__ import annotations

from typing import Any

from .schema import Field, SObjectType


def text(name: str, length: int = 255, label: str = "", required: bool = False, **kw: Any) -> Field:
    return Field(name, "string", label, length=length, nillable=not required, **kw)


def textarea(name: str, length: int = 32000, label: str = "", **kw: Any) -> Field:
    return Field(name, "textarea", label, length=length, filterable=length <= 255, **kw)


def email(name: str = "Email", label: str = "", **kw: Any) -> Field:
    return Field(name, "email", label, length=80, **kw)


def phone(name: str, label: str = "", **kw: Any) -> Field:
    return Field(name, "phone", label, length=40, **kw)


def url(name: str, label: str = "", **kw: Any) -> Field:
    return Field(name, "url", label, length=255, **kw)


def pick(name: str, values: list[str], label: str = "", restricted: bool = False, required: bool = False,
         default: str | None = None, length: int = 255, **kw: Any) -> Field:
    return Field(name, "picklist", label, length=length, picklist=list(values), restricted=restricted,
                 nillable=not required, picklist_default=default, defaulted_on_create=default is not None,
                 default=default, **kw)


def multipick(name: str, values: list[str], label: str = "", **kw: Any) -> Field:
    return Field(name, "multipicklist", label, length=4099, picklist=list(values), **kw)


def boolean(name: str, label: str = "", default: bool = False, **kw: Any) -> Field:
    return Field(name, "boolean", label, nillable=False, defaulted_on_create=True, default=default, **kw)


def integer(name: str, label: str = "", digits: int = 8, **kw: Any) -> Field:
    return Field(name, "int", label, digits=digits, **kw)


def number(name: str, label: str = "", precision: int = 18, scale: int = 2, kind: str = "double",
           **kw: Any) -> Field:
    return Field(name, kind, label, precision=precision, scale=scale, **kw)


def date(name: str, label: str = "", required: bool = False, **kw: Any) -> Field:
    return Field(name, "date", label, nillable=not required, **kw)


def datetime_(name: str, label: str = "", required: bool = False, **kw: Any) -> Field:
    return Field(name, "datetime", label, nillable=not required, **kw)


def ref(name: str, to: list[str] | str, rel: str | None, label: str = "", required: bool = False,
        **kw: Any) -> Field:
    targets = [to] if isinstance(to, str) else list(to)
    return Field(name, "reference", label, length=18, reference_to=targets, relationship_name=rel,
                 nillable=not required, **kw)


def system_fields(obj: SObjectType, owner: bool = True, owner_to: list[str] | None = None) -> None:
    """Add Id, audit fields, IsDeleted and (optionally) OwnerId, as every real object has them."""
    obj.add(
        Field("Id", "id", obj.label + " ID", length=18, nillable=False, createable=False, updateable=False,
              defaulted_on_create=True, id_lookup=True, unique=False),
        Field("IsDeleted", "boolean", "Deleted", nillable=False, createable=False, updateable=False,
              defaulted_on_create=True, default=False),
    )
    if owner:
        obj.add(ref("OwnerId", owner_to or ["User"], "Owner", "Owner ID", required=True,
                    defaulted_on_create=True))
    for fname, label, kind in (("CreatedDate", "Created Date", "datetime"),
                               ("CreatedById", "Created By ID", "reference"),
                               ("LastModifiedDate", "Last Modified Date", "datetime"),
                               ("LastModifiedById", "Last Modified By ID", "reference"),
                               ("SystemModstamp", "System Modstamp", "datetime")):
        f = Field(fname, kind, label, nillable=False, createable=False, updateable=False,
                  defaulted_on_create=True)
        if kind == "reference":
            f.length, f.reference_to = 18, ["User"]
            f.relationship_name = fname[:-2]
        obj.add(f)
