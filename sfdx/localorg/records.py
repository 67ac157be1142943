"""Record JSON: `attributes` plus every field in describe order, null where unset."""

from __future__ import annotations

from typing import Any

from .derived import address
from .schema import SObjectType
from .table import Record


def attributes(obj: SObjectType, rid: str | None, base: str) -> dict[str, str]:
    return {"type": obj.name, "url": f"{base}/sobjects/{obj.name}/{rid}"}


def record_json(obj: SObjectType, rec: Record, base: str, fields: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": attributes(obj, rec.get("Id"), base)}
    names = fields if fields is not None else list(obj.fields)
    for name in names:
        kind = obj.fields[name].type
        out[name] = address(rec, name) if kind == "address" else rec.get(name, obj.fields[name].default
                                                                         if kind == "boolean" else None)
    return out
