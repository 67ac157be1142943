"""Source values -> target values for the fields that name records: record types, owners, references.

Record types go by (object, DeveloperName), owners by username, then e-mail, then the fallback user;
polymorphic references (WhoId, WhatId) by the key prefix of the source Id; references to a step's
object through the run's KeyMap; a source Id that is neither in the map nor a failed row is kept when a
record with that Id exists in the target (a sandbox copied from the source org).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from backend.migration.keymap import KeyMap
from backend.salesforce.client import SalesforceClient, soql_quote

SF_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
IN_BATCH = 200


@dataclass
class Resolved:
    """One reference column translated: target values, and per row why it is blank or must fail."""

    values: list[str]
    failed: dict[int, str] = field(default_factory=dict)  # row position -> message naming the parent row
    unmatched: int = 0


def in_batches(values: Iterable[str], size: int = IN_BATCH) -> Iterable[list[str]]:
    batch: list[str] = []
    for v in values:
        batch.append(v)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def quoted(values: list[str]) -> str:
    return ", ".join(soql_quote(v) for v in values)


class Translator:
    def __init__(self, target: SalesforceClient, source: SalesforceClient | None, keys: KeyMap,
                 fallback_owner: str | None = None) -> None:
        self.target, self.source, self.keys = target, source, keys
        self.fallback_owner = fallback_owner
        self._record_types: dict[str, str] | None = None
        self._owners: dict[str, str] | None = None
        self._prefixes: dict[str, str] | None = None
        self._existing: dict[str, set[str]] = {}
        self._standard: dict[str, str] | None = None

    # ---- record types and owners ----------------------------------------------------------------
    def record_types(self) -> dict[str, str]:
        """Source RecordType Id -> target RecordType Id, matched by object and DeveloperName."""
        if self._record_types is None:
            soql = "SELECT Id, SobjectType, DeveloperName FROM RecordType"
            target = {(r["SobjectType"].lower(), r["DeveloperName"].lower()): r["Id"] for r in self.target.query(soql)}
            src = self.source.query(soql) if self.source else []
            self._record_types = {r["Id"]: target[k] for r in src
                                  if (k := (r["SobjectType"].lower(), r["DeveloperName"].lower())) in target}
        return self._record_types

    def owners(self) -> dict[str, str]:
        """Source User Id -> target User Id: same username, else same e-mail, else the fallback user."""
        if self._owners is None:
            soql = "SELECT Id, Username, Email, IsActive FROM User"
            target = [r for r in self.target.query(soql) if r.get("IsActive") is not False]
            by_name = {(r.get("Username") or "").lower(): r["Id"] for r in target}
            by_mail = {(r.get("Email") or "").lower(): r["Id"] for r in target if r.get("Email")}
            fallback = None
            if self.fallback_owner:
                fallback = by_name.get(self.fallback_owner.lower()) or by_mail.get(self.fallback_owner.lower())
            self._owners = {}
            for r in self.source.query(soql) if self.source else []:
                tid = by_name.get((r.get("Username") or "").lower()) or by_mail.get((r.get("Email") or "").lower())
                if tid or fallback:
                    self._owners[r["Id"]] = tid or fallback
        return self._owners

    def object_of(self, source_id: str) -> str | None:
        """The object a source Id belongs to, by its key prefix (polymorphic fields)."""
        if self._prefixes is None:
            data = self.source.json("GET", "sobjects") if self.source else {"sobjects": []}
            self._prefixes = {o["keyPrefix"]: o["name"] for o in data.get("sobjects", []) if o.get("keyPrefix")}
        return self._prefixes.get(source_id[:3])

    def standard_pricebook(self) -> dict[str, str]:
        """Source standard price book Id -> the target's: every org has its own, never copied."""
        if self._standard is None:
            soql = "SELECT Id FROM Pricebook2 WHERE IsStandard = true"
            target = [r["Id"] for r in self.target.query(soql)]
            src = [r["Id"] for r in self.source.query(soql)] if self.source and target else []
            self._standard = {i: target[0] for s in src for i in (s, s[:15])}
        return self._standard

    # ---- references -----------------------------------------------------------------------------
    def resolve(self, field_name: str, values: list[str], parents: list[str], steps: set[str],
                fixed_object: str | None = None) -> Resolved:
        """Target Ids for a column of source keys; `steps` are the plan's objects (KeyMap holds them)."""
        if field_name == "RecordTypeId":
            return self._by_table(values, self.record_types(), "record type")
        if field_name == "OwnerId" or parents == ["User"]:
            return self._by_table(values, self.owners(), "owner")
        out = Resolved([""] * len(values))
        pending: dict[str, list[tuple[int, str]]] = {}
        for i, value in enumerate(values):
            if not value:
                continue
            obj = fixed_object or (parents[0] if len(parents) == 1 else self.object_of(value))
            if obj is None:
                out.unmatched += 1
                continue
            if obj in steps:
                tid = self.keys.of(obj).get(value)
                if tid:
                    out.values[i] = tid
                    continue
                why = self.keys.failures(obj).get(value)
                if why is not None:
                    out.failed[i] = f"the parent {obj} row {value} failed: {why}"
                    continue
            pending.setdefault(obj, []).append((i, value))
        for obj, rows in pending.items():
            standard = self.standard_pricebook() if obj == "Pricebook2" else {}
            for i, value in rows:
                out.values[i] = standard.get(value, "")
            rows = [(i, v) for i, v in rows if not out.values[i]]
            found = self.existing(obj, [v for _, v in rows])
            for i, value in rows:
                if value in found:
                    out.values[i] = value
                else:
                    out.unmatched += 1
        return out

    def _by_table(self, values: list[str], table: dict[str, str], what: str) -> Resolved:
        out = Resolved([""] * len(values))
        for i, value in enumerate(values):
            if value:
                out.values[i] = table.get(value, "")
                out.unmatched += not out.values[i]
        return out

    def existing(self, sobject: str, ids: list[str]) -> set[str]:
        """Which of `ids` are records of `sobject` in the target (asked once per Id)."""
        seen = self._existing.setdefault(sobject, set())
        ask = sorted({i for i in ids if SF_ID.match(i)} - seen)
        for batch in in_batches(ask):
            for rec in self.target.query(f"SELECT Id FROM {sobject} WHERE Id IN ({quoted(batch)})"):
                seen.add(rec["Id"])
                seen.add(rec["Id"][:15])
        return {i for i in ids if i in seen}

    def match(self, sobject: str, fields: list[str], rows: list[tuple[str, ...]]) -> list[list[str]]:
        """Target Ids of the records whose `fields` equal each row's values (text compared case-insensitively)."""
        firsts = sorted({r[0] for r in rows if r[0]})
        index: dict[tuple[str, ...], list[str]] = {}
        select = ", ".join(dict.fromkeys(["Id", *fields]))
        for batch in in_batches(firsts):
            soql = f"SELECT {select} FROM {sobject} WHERE {fields[0]} IN ({quoted(batch)})"
            for rec in self.target.query(soql):
                key = tuple(text(rec.get(f)).lower() for f in fields)
                index.setdefault(key, []).append(rec["Id"])
        return [index.get(tuple(v.lower() for v in r), []) if r[0] else [] for r in rows]


def text(value: Any) -> str:
    """A record value as the engine's string cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
