"""Suggest column -> field mappings from names and labels, each with a confidence between 0 and 1.

Names are compared ignoring case, spaces, underscores, hyphens, dots and a trailing `__c`, so
"First Name", "first_name" and "FirstName" all match FirstName, and "Account Number" matches
AccountNumber__c. A column naming a lookup's relationship ("Account") suggests the reference field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

_NOISE = re.compile(r"[\s_\-.]+")


@dataclass(frozen=True)
class Suggestion:
    """A proposed mapping; for a reference field matched by name, `lookup_object` suggests a Lookup."""

    column: str
    field: str
    score: float
    reason: str
    lookup_object: str | None = None


def normalize(name: str) -> str:
    """Lowercase, without separators or a custom-field suffix."""
    low = name.strip().lower()
    if low.endswith("__c"):
        low = low[:-3]
    return _NOISE.sub("", low)


def _writable(f: dict[str, Any], operation: str) -> bool:
    if f.get("calculated") or f.get("autoNumber"):
        return False
    if f.get("name") == "Id":
        return operation != "insert"
    return bool(f.get("createable") or f.get("updateable"))


def _score(column: str, f: dict[str, Any]) -> tuple[float, str]:
    col, name, label = column.strip(), str(f.get("name", "")), str(f.get("label") or "")
    rel = str(f.get("relationshipName") or "")
    checks = [
        (1.0, "API name", col.lower() == name.lower()),
        (0.95, "API name", normalize(col) == normalize(name)),
        (0.9, "label", col.lower() == label.lower()),
        (0.85, "label", normalize(col) == normalize(label)),
        (0.8, "relationship", bool(rel) and normalize(col) in (normalize(rel), normalize(rel) + "name")),
    ]
    for score, reason, hit in checks:
        if hit:
            return score, reason
    best = max(SequenceMatcher(None, normalize(col), normalize(x)).ratio() for x in (name, label or name))
    return (round(0.7 * best, 3), "similar name") if best >= 0.85 else (0.0, "")


def auto_map(columns: Sequence[str], describe: dict[str, Any], operation: str = "insert") -> list[Suggestion]:
    """Best field for each column (each field used once), highest confidence first."""
    fields = [f for f in describe.get("fields", []) if _writable(f, operation)]
    candidates = []
    for col in columns:
        for f in fields:
            score, reason = _score(col, f)
            if score > 0:
                targets = f.get("referenceTo") or []
                parent = targets[0] if f.get("type") == "reference" and reason == "relationship" and targets else None
                candidates.append(Suggestion(col, f["name"], score, reason, parent))
    candidates.sort(key=lambda s: (-s.score, columns.index(s.column)))
    used_cols: set[str] = set()
    used_fields: set[str] = set()
    result = []
    for s in candidates:
        if s.column in used_cols or s.field in used_fields:
            continue
        used_cols.add(s.column)
        used_fields.add(s.field)
        result.append(s)
    return result
