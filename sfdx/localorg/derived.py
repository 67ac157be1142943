"""Fields Salesforce computes (compound person Name and auto numbers on write, compound addresses on read,
custom Name) and schema caches."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .schema import SObjectType
from .table import Record, Table


def derive(t: Table, rec: Record, insert: bool) -> None:
    """Fields Salesforce computes: compound person Name, auto numbers."""
    obj = t.obj
    if "FirstName" in obj.fields and "Name" in obj.fields and not obj.fields["Name"].createable:
        rec["Name"] = " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p)
    if insert:
        for name in auto_numbers(obj):
            t.auto_number += 1
            rec[name] = auto_number(obj.fields[name].display_format, t.auto_number)
        if obj.custom and rec.get("Name") in (None, "") and "Name" in obj.fields:
            rec["Name"] = rec["Id"]


ADDRESS_PARTS = ("city", "country", "geocodeAccuracy", "latitude", "longitude", "postalCode", "state", "street")


@lru_cache(maxsize=256)
def _address_parts(compound: str) -> tuple[str, ...]:
    prefix = compound[: -len("Address")]
    return tuple(prefix + k[0].upper() + k[1:] for k in ADDRESS_PARTS)


def address(rec: Record, compound: str) -> dict[str, Any] | None:
    """A compound address (BillingAddress) read from its stored parts; null when every part is. Computed on
    read rather than stored, so a million records do not each carry one more dict."""
    values = [rec.get(f) for f in _address_parts(compound)]
    return dict(zip(ADDRESS_PARTS, values, strict=True)) if values.count(None) < len(values) else None


def auto_number(display_format: str | None, n: int) -> str:
    """Apply an auto-number display format such as RUN-{000000} (default: 8 digits)."""
    if not display_format:
        return f"{n:08d}"
    return re.sub(r"\{(0+)\}", lambda m: f"{n:0{len(m.group(1))}d}", display_format)


def reference_names(obj: SObjectType) -> frozenset[str]:
    cached = obj.validators.get("refs")
    if cached is None or cached[0] != obj.version:
        cached = obj.validators["refs"] = (obj.version, frozenset(
            n for n, f in obj.fields.items() if f.type == "reference"))
    return cached[1]


def auto_numbers(obj: SObjectType) -> list[str]:
    cached = obj.validators.get("auto")
    if cached is None or cached[0] != obj.version:
        cached = obj.validators["auto"] = (obj.version, [n for n, f in obj.fields.items() if f.auto_number])
    return cached[1]
