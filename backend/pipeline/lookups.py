"""Resolve references by external id or by any field of the parent, and match keys to Ids.

References whose parent field is an external id (and whose policies are the defaults) are not
queried: the column becomes a relationship column (`Account.External_Id__c`), which Bulk takes as a
header and the REST sink sends as `{"Account": {"External_Id__c": ...}}`; Salesforce resolves it.
Every other lookup runs batched SOQL `IN` queries, cached for the run; rows whose value matches no
parent, or several, become row errors (or blank / first, per the Lookup's policy). Never raises for
a row's data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.mapping import Lookup, MappedChunk, Mapping, RowError
from backend.salesforce.client import SalesforceClient, soql_quote

BATCH_VALUES = 300
BATCH_CHARS = 8_000  # the query travels in a GET URL; stay well under Salesforce's ~16k URI limit
UNQUOTED_TYPES = ("int", "double", "currency", "percent", "boolean", "date", "datetime")


@dataclass(frozen=True)
class _Key:
    parent: str
    field: str
    case_insensitive: bool
    where: str = ""


def move_to_errors(mapped: MappedChunk, bad: np.ndarray, messages: Iterable[str]) -> MappedChunk:
    """A copy of `mapped` without the rows in `bad`; they join `errors` with their original values."""
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
        return mapped
    src = mapped.source[bad]
    cols = list(src.columns)
    new = [RowError(int(n), str(m), {c: ("" if v is pd.NA or v is None else str(v)) for c, v in zip(cols, row,
                                                                                                    strict=True)})
           for n, m, row in zip(mapped.row_numbers[bad], messages, src.itertuples(index=False, name=None),
                                strict=True)]
    keep = ~bad
    return replace(mapped, frame=mapped.frame[keep].reset_index(drop=True), row_numbers=mapped.row_numbers[keep],
                   source=mapped.source[keep].reset_index(drop=True),
                   errors=sorted([*mapped.errors, *new], key=lambda e: e.row_number))


class LookupResolver:
    """Resolves one run's lookups and match keys; its cache lives as long as the run."""

    def __init__(self, client: SalesforceClient, mapping: Mapping) -> None:
        self.client = client
        self.mapping = mapping
        self.cache: dict[_Key, dict[str, list[str]]] = {}
        self.queries = 0

    # ---- public -----------------------------------------------------------------------------------
    def resolve(self, mapped: MappedChunk) -> MappedChunk:
        """Replace lookup values with Ids (or relationship columns); failing rows move to errors."""
        for lk in self.mapping.lookups:
            if lk.field not in mapped.frame.columns or len(mapped) == 0:
                continue
            rel = self._relationship_column(lk)
            if rel:
                names = [rel if c == lk.field else c for c in mapped.frame.columns]
                mapped = replace(mapped, frame=mapped.frame.set_axis(names, axis=1))  # rename's mapping costs more
                continue
            mapped = self._resolve_by_query(mapped, lk)
        return mapped

    def match_ids(self, mapped: MappedChunk) -> MappedChunk:
        """Update / delete by any field: add the Id of the one record whose match key equals the value."""
        m = self.mapping
        key = m.match_key or "Id"
        if m.operation not in ("update", "delete", "hardDelete") or key.lower() == "id" or len(mapped) == 0:
            return mapped
        lk = Lookup(field=key, parent_object=m.object, match_field=key, case_insensitive=True)
        values = mapped.frame[key]
        ids, bad, messages = self._lookup(lk, values, f"{m.object} with {key}")
        frame = mapped.frame.copy()
        frame.insert(0, "Id", ids)
        if m.operation != "update":
            frame = frame[["Id"]]
        return move_to_errors(replace(mapped, frame=frame), bad, messages)

    def skip_existing(self, mapped: MappedChunk) -> MappedChunk:
        """Inserts with `options.skip_existing`: leave out rows whose value matches a record already there."""
        m, key = self.mapping, self.mapping.options.skip_existing
        if m.operation != "insert" or not key or key not in mapped.frame.columns or len(mapped) == 0:
            return mapped
        lk = Lookup(field=key, parent_object=m.object, match_field=key, case_insensitive=True,
                    no_match="blank", many_match="first")
        ids, _, _ = self._lookup(lk, mapped.frame[key], m.object)
        found = ids.notna().to_numpy()
        if not found.any():
            return mapped
        keep = ~found
        return replace(mapped, frame=mapped.frame[keep].reset_index(drop=True), row_numbers=mapped.row_numbers[keep],
                       source=mapped.source[keep].reset_index(drop=True), skipped=mapped.skipped + int(found.sum()))

    def existing_ids(self, sobject: str, field: str, values: pd.Series) -> pd.Series:
        """Id of the record whose `field` equals each value (NA when none or several): upsert snapshots."""
        lk = Lookup(field=field, parent_object=sobject, match_field=field, case_insensitive=True)
        ids, _, _ = self._lookup(lk, values, sobject)
        return ids

    # ---- internals ----------------------------------------------------------------------------------
    def _relationship_column(self, lk: Lookup) -> str | None:
        if lk.no_match != "error" or lk.many_match != "error" or lk.parent_object.lower() == "recordtype":
            return None
        child = self.client.describe(self.mapping.object)
        ref = next((f for f in child["fields"] if f["name"].lower() == lk.field.lower()), None)
        if ref is None or not ref.get("relationshipName") or len(ref.get("referenceTo") or []) != 1:
            return None  # polymorphic references are resolved by query: the type is then certain
        parent = self._field(lk.parent_object, lk.match_field)
        if parent is None or not (parent.get("externalId") or parent["name"] == "Id"):
            return None
        return f"{ref['relationshipName']}.{parent['name']}"

    def _field(self, sobject: str, name: str) -> dict[str, Any] | None:
        fields = self.client.describe(sobject)["fields"]
        return next((f for f in fields if f["name"].lower() == name.lower()), None)

    def _resolve_by_query(self, mapped: MappedChunk, lk: Lookup) -> MappedChunk:
        ids, bad, messages = self._lookup(lk, mapped.frame[lk.field], lk.parent_object)
        frame = mapped.frame.copy()
        frame[lk.field] = ids
        return move_to_errors(replace(mapped, frame=frame), bad, messages)

    def _lookup(self, lk: Lookup, values: pd.Series, what: str) -> tuple[pd.Series, np.ndarray, list[str]]:
        """(ids aligned with values, rows in error, their messages) under the lookup's policies."""
        key = _Key(lk.parent_object, lk.match_field, lk.case_insensitive, self._where(lk))
        table = self.cache.setdefault(key, {})
        norm = values.str.casefold() if lk.case_insensitive else values.astype(STRING_DTYPE)
        wanted = [v for v in pd.unique(values.dropna()) if self._norm(key, v) not in table]
        if wanted:
            self._fetch(key, wanted, table)
        first = norm.map({k: v[0] for k, v in table.items() if v}).astype(STRING_DTYPE)
        count = norm.map({k: len(v) for k, v in table.items()}).fillna(0).astype(int).to_numpy()
        given = values.notna().to_numpy()
        none = given & (count == 0)
        many = given & (count > 1)
        bad = np.zeros(len(values), dtype=bool)
        msgs = pd.Series("", index=values.index, dtype=object)
        label = f"{lk.field}: no {what} has {lk.match_field} "
        if lk.no_match == "error":
            bad |= none
            msgs[none] = label + values[none].astype(object).map(repr)
        if lk.many_match == "error":
            bad |= many
            msgs[many] = [f"{lk.field}: {n} {what} records have {lk.match_field} {v!r}"
                          for n, v in zip(count[many], values[many], strict=True)]
        ids = first.where(~none & ~(many & (lk.many_match == "error")), pd.NA)
        return ids, bad, list(msgs[bad])

    @staticmethod
    def _norm(key: _Key, value: str) -> str:
        return value.casefold() if key.case_insensitive else value

    def _where(self, lk: Lookup) -> str:
        if lk.parent_object.lower() == "recordtype":
            return f"SobjectType = {soql_quote(self.mapping.object)}"
        return ""

    def _fetch(self, key: _Key, wanted: list[str], table: dict[str, list[str]]) -> None:
        meta = self._field(key.parent, key.field)
        field = meta["name"] if meta else key.field
        unquoted = bool(meta and meta.get("type") in UNQUOTED_TYPES)
        for batch in _batches(wanted, unquoted):
            for v in batch:
                table.setdefault(self._norm(key, v), [])
            cond = f"{field} IN ({', '.join(v if unquoted else soql_quote(v) for v in batch)})"
            where = f"{key.where} AND {cond}" if key.where else cond
            self.queries += 1
            for rec in self.client.query(f"SELECT Id, {field} FROM {key.parent} WHERE {where} ORDER BY Id"):
                got = rec.get(field)
                if got is None:
                    continue
                found = self._norm(key, str(got))
                if found in table and rec["Id"] not in table[found]:
                    table[found].append(rec["Id"])


def _batches(values: list[str], unquoted: bool) -> Iterable[list[str]]:
    batch: list[str] = []
    size = 0
    for v in values:
        n = len(v) + (4 if unquoted else 6)
        if batch and (len(batch) >= BATCH_VALUES or size + n > BATCH_CHARS):
            yield batch
            batch, size = [], 0
        if not unquoted or v.replace(".", "", 1).replace("-", "", 1).isalnum():  # never splice junk into SOQL
            batch.append(v)
            size += n
    if batch:
        yield batch
