"""SOQL execution over a Store: resolve field paths, filter, sort, page, shape records like the REST API.

API: `execute(store, text, base, include_deleted=False) -> QueryResult` with `.rows` (record JSON dicts,
already shaped) or `.count` for COUNT(); the REST layer pages `.rows`. Bulk query can call it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .derived import address
from .describe import _child_rel, find_child_relationship
from .ids import to18
from .records import attributes
from .schema import Field, SObjectType
from .soql_filters import comparison, value_key
from .soql_parser import Condition, Count, FieldPath, Query, Subquery, parse, soql_error
from .store import Store
from .table import Record, Table

_NO_COLUMN = ("No such column '{0}' on entity '{1}'. If you are attempting to use a custom field, be sure to "
              "append the '__c' after the custom field name. Please reference your WSDL or the describe call "
              "for the appropriate names.")
_NO_REL = ("Didn't understand relationship '{0}' in field path. If you are attempting to use a custom "
           "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
           "your WSDL or the describe call for the appropriate names.")
_NO_TYPE = ("sObject type '{0}' is not supported. If you are attempting to use a custom object, be sure to "
            "append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
            "appropriate names.")
_NUMERIC = ("int", "double", "currency", "percent")
_INDEXABLE = frozenset({"id", "reference", "string", "email", "phone", "url", "picklist", "combobox"})


def _lookup_key(f: Field, value: str) -> str | None:
    if f.type in ("id", "reference"):
        return to18(value)
    return value.lower()


@dataclass
class Resolved:
    """A field path resolved against the schema: reference hops, then the final field name."""

    hops: list[tuple[str, str]]        # (reference field on current record, relationship name for output)
    field: Field
    names: list[str]                   # canonical names for output keys (relationship names + field)

    def get(self, store: Store, rec: Record | None) -> Any:
        for ref_field, _ in self.hops:
            if rec is None:
                return None
            rid = rec.get(ref_field)
            rec = store.get(rid) if rid else None
        return None if rec is None else _value(store, rec, self)


def _value(store: Store, rec: Record, res: Resolved) -> Any:
    """A field of `rec`; through a polymorphic hop, Name means the target's name field (Case: CaseNumber)."""
    name = res.field.name
    if res.field.type == "address":
        return address(rec, name)
    if name not in rec and res.hops and name == "Name":
        obj = store.schema.by_prefix(rec.get("Id", "")[:3])
        name_field = obj.name_field if obj is not None else None
        if name_field is not None:
            return rec.get(name_field.name)
    return rec.get(name, False if res.field.type == "boolean" else None)


@dataclass
class QueryResult:
    """Matched records (raw, shaped on demand so open cursors cost a pointer per row)."""

    query: Query
    obj: SObjectType
    records: list[Record]
    executor: Executor
    count: int | None = None                     # set for SELECT COUNT() (no rows)
    aggregate: list[dict[str, Any]] | None = None  # set for COUNT(field)

    def __len__(self) -> int:
        return len(self.aggregate) if self.aggregate is not None else len(self.records)

    def page(self, start: int, end: int) -> list[dict[str, Any]]:
        """Rows [start, end) as REST record JSON."""
        if self.aggregate is not None:
            return self.aggregate[start:end]
        return self.executor.shape(self.records[start:end])

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every row as REST record JSON."""
        return self.page(0, len(self))


class Executor:
    def __init__(self, store: Store, query: Query, base: str) -> None:
        self.store = store
        self.q = query
        self.base = base
        obj = store.schema.get(query.sobject)
        if obj is None:
            raise soql_error(query.text, query.sobject_pos, _NO_TYPE.format(query.sobject), "INVALID_TYPE")
        self.obj = obj
        self._paths: list[Resolved] | None = None
        self._subs: list[tuple[str, Callable[[str | None], Any]]] = []

    def resolve(self, path: FieldPath) -> Resolved:
        parts = list(path.parts)
        if self.q.alias and len(parts) > 1 and parts[0].lower() == self.q.alias.lower():
            parts = parts[1:]
        objs = [self.obj]
        hops: list[tuple[str, str]] = []
        names: list[str] = []
        for rel in parts[:-1]:
            ref = next((o.relationship(rel) for o in objs if o.relationship(rel)), None)
            if ref is None:
                raise soql_error(self.q.text, path.pos, _NO_REL.format(rel), "INVALID_FIELD")
            hops.append((ref.name, ref.relationship_name or rel))
            names.append(ref.relationship_name or rel)
            objs = [o for o in (self.store.schema.get(t) for t in ref.reference_to) if o is not None]
        f = next((o.field(parts[-1]) for o in objs if o.field(parts[-1])), None)
        if f is None:
            entity = objs[0].name if objs else self.obj.name
            raise soql_error(self.q.text, path.pos, _NO_COLUMN.format(parts[-1], entity), "INVALID_FIELD")
        return Resolved(hops, f, names + [f.name])

    def run(self, include_deleted: bool) -> QueryResult:
        table = self.store.table(self.obj.name)
        with self.store.lock:
            candidates = self._candidates(table)
            if candidates is None:
                candidates = list(table.rows.values())
            if include_deleted or self.q.all_rows:
                candidates = candidates + list(table.bin.values())
        pred = self.predicate(self.q.where) if self.q.where else None
        rows = [r for r in candidates if pred is None or pred(r)]
        counts = [c for c in self.q.select if isinstance(c, Count)]
        self._sort(rows)
        rows = rows[self.q.offset or 0:]
        if self.q.limit is not None:
            rows = rows[: self.q.limit]
        if counts and counts[0].field is None:
            return QueryResult(self.q, self.obj, [], self, count=len(rows))
        if counts:
            agg: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for i, c in enumerate(counts):
                if c.field is not None:
                    res = self.resolve(c.field)
                    agg[c.alias or f"expr{i}"] = sum(1 for r in rows if res.get(self.store, r) is not None)
            return QueryResult(self.q, self.obj, [], self, aggregate=[agg])
        self.shape([])  # resolve the select list now so bad columns fail before paging starts
        return QueryResult(self.q, self.obj, rows, self)

    def _candidates(self, table: Table) -> list[Record] | None:
        """Rows that can match, from the Id or an index, when the top-level filter pins a field with
        `=` or `IN` (lookup batches); None means scan everything."""
        conds = [self.q.where] if self.q.where and self.q.where.op != "and" else (
            self.q.where.items if self.q.where else [])
        for c in conds:
            if c.op not in ("in", "cmp") or (c.op == "cmp" and c.operator != "=") or len(c.path.parts) != 1:
                continue
            f = self.obj.field(c.path.parts[0])
            if f is None or f.type not in _INDEXABLE or any(v.kind != "string" for v in c.values):
                continue
            out: dict[str, Record] = {}
            if f.name == "Id":
                for v in c.values:
                    full = to18(str(v.value))
                    if full and full in table.rows:
                        out[full] = table.rows[full]
                return list(out.values())
            idx = table.lookup_index(f)
            for v in c.values:
                key = _lookup_key(f, v.value)
                for rid in idx.get(key, ()) if key is not None else ():
                    out[rid] = table.rows[rid]
            return list(out.values())
        return None

    def _sort(self, rows: list[Record]) -> None:
        for path, desc, nulls_first in reversed(self.q.order):
            res = self.resolve(path)
            by = value_key(res.field)   # the same per-type key filters compare with

            def key(r: Record, res: Resolved = res, nulls_first: bool = nulls_first, desc: bool = desc,
                    by: Callable[[Any], Any] = by) -> Any:
                v = by(res.get(self.store, r))
                if v is None:
                    return (0 if nulls_first != desc else 2, "")
                return (1, v)
            rows.sort(key=key, reverse=desc)

    def shape(self, rows: list[Record]) -> list[dict[str, Any]]:
        """Records as REST JSON with the selected fields and nested parents."""
        paths = self._paths
        if paths is None:
            paths = self._paths = [self.resolve(p) for p in self.q.select if isinstance(p, FieldPath)]
            self._subs = [self._child_query(s) for s in self.q.select if isinstance(s, Subquery)]
        out = []
        for r in rows:
            item: dict[str, Any] = {"attributes": attributes(self.obj, r.get("Id"), self.base)}
            for res in paths:
                self._put(item, r, res)
            for rel, child in self._subs:
                item[rel] = child(r.get("Id"))
            out.append(item)
        return out

    def _child_query(self, sub: Subquery) -> tuple[str, Callable[[str | None], Any]]:
        """(relationship name, parent id -> {totalSize, done, records} or None) for a child subquery."""
        q = sub.query
        found = find_child_relationship(self.store, self.obj, q.sobject)
        if found is None:
            raise soql_error(self.q.text, q.sobject_pos, _NO_REL.format(q.sobject), "INVALID_FIELD")
        child_obj, ref_field = found
        inner = Executor(self.store, Query(self.q.text, q.select, child_obj.name, q.sobject_pos, q.alias, q.where,
                                           q.order), self.base)
        groups: dict[str, list[Record]] = {}
        for rec in inner.run(False).records:
            groups.setdefault(rec.get(ref_field), []).append(rec)
        start = q.offset or 0
        stop = None if q.limit is None else start + q.limit

        def children(parent_id: str | None) -> Any:
            recs = groups.get(parent_id or "", [])[start:stop]  # LIMIT/OFFSET apply per parent
            if not recs:
                return None
            return {"totalSize": len(recs), "done": True, "records": inner.shape(recs)}
        return _child_rel(child_obj, child_obj.fields[ref_field]) or q.sobject, children

    def _put(self, item: dict[str, Any], rec: Record | None, res: Resolved) -> None:
        target = item
        for (ref_field, rel_name) in res.hops:
            rid = rec.get(ref_field) if rec else None
            rec = self.store.get(rid) if rid else None
            if rec is None:
                target.setdefault(rel_name, None)
                return
            sub = target.get(rel_name)
            if sub is None:
                parent_obj = self.store.schema.by_prefix(rec["Id"][:3])
                sub = target[rel_name] = {"attributes": attributes(parent_obj, rec["Id"], self.base)}
            target = sub
        if rec is not None:
            target[res.field.name] = _value(self.store, rec, res)

    def predicate(self, c: Condition) -> Callable[[Record], bool]:
        if c.op in ("and", "or"):
            preds = [self.predicate(i) for i in c.items]
            return (lambda r: all(p(r) for p in preds)) if c.op == "and" else (lambda r: any(p(r) for p in preds))
        if c.op == "not":
            inner = self.predicate(c.items[0])
            return lambda r: not inner(r)
        assert c.path is not None
        res = self.resolve(c.path)
        test = comparison(self.q.text, c, res.field)
        store = self.store
        return lambda r: test(res.get(store, r))


def execute(store: Store, text: str, base: str, include_deleted: bool = False) -> QueryResult:
    """Parse and run `text`; SfError (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE) on bad SOQL."""
    query = parse(text)
    return Executor(store, query, base).run(include_deleted)


