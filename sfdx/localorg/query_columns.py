"""`GET query?q=...&columns=true`: the column metadata the Salesforce CLI reads before printing a query
(`columnMetadata`, `entityName`, `groupBy`, `idSelected`, `keyPrefix`; no records)."""

from __future__ import annotations

from typing import Any

from .describe import find_child_relationship
from .schema import NUMBER_TYPES, TEXT_TYPES, Field, SObjectType
from .soql_exec import Executor
from .soql_parser import Count, FieldPath, Query, Subquery, parse, soql_error
from .store import Store

APEX_TYPES = {"id": "Id", "reference": "Id", "boolean": "Boolean", "int": "Integer", "double": "Double",
              "currency": "Decimal", "percent": "Double", "date": "Date", "datetime": "Datetime", "time": "Time",
              "address": "Address"}


def _column(name: str, display: str, f: Field | None = None, aggregate: bool = False,
            joins: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    kind = f.type if f else ""
    return {"aggregate": aggregate, "apexType": (APEX_TYPES.get(kind, "String") if f else None),
            "booleanType": kind == "boolean", "columnName": name, "custom": bool(f and f.custom),
            "displayName": display, "foreignKeyName": None, "insertable": bool(f and f.createable),
            "joinColumns": joins or [], "numberType": kind in NUMBER_TYPES, "textType": kind in TEXT_TYPES,
            "updatable": bool(f and f.updateable)}


def _add_path(columns: list[dict[str, Any]], names: list[str], f: Field, prefix: str = "") -> None:
    """Merge one resolved path (Account.Owner.Name) into nested joinColumns, as real orgs group them."""
    head, display = names[0], prefix + names[0]
    if len(names) == 1:
        columns.append(_column(head, display, f))
        return
    join = next((c for c in columns if c["columnName"] == head and c["joinColumns"] and not c["aggregate"]), None)
    if join is None:
        join = _column(head, display)
        columns.append(join)
    _add_path(join["joinColumns"], names[1:], f, display + ".")


def _columns(store: Store, query: Query, obj: SObjectType, base: str) -> list[dict[str, Any]]:
    ex = Executor(store, query, base)
    columns: list[dict[str, Any]] = []
    for i, item in enumerate(query.select):
        if isinstance(item, FieldPath):
            res = ex.resolve(item)
            _add_path(columns, res.names, res.field)
        elif isinstance(item, Count) and item.field is not None:
            res = ex.resolve(item.field)
            columns.append(_column(item.alias or f"expr{i}", f"COUNT({'.'.join(item.field.parts)})",
                                   aggregate=True) | {"apexType": "Integer", "numberType": True})
        elif isinstance(item, Subquery):
            found = find_child_relationship(store, obj, item.query.sobject)
            if found is None:
                raise soql_error(query.text, item.query.sobject_pos, f"Didn't understand relationship "
                                 f"'{item.query.sobject}' in FROM part of query call.", "INVALID_TYPE")
            child = store.schema.get(found[0].name)
            inner = Query(query.text, item.query.select, child.name, item.query.sobject_pos, item.query.alias)
            columns.append(_column(item.query.sobject, item.query.sobject, aggregate=True,
                                   joins=_columns(store, inner, child, base)))
    return columns


def column_metadata(store: Store, text: str, base: str) -> dict[str, Any]:
    query = parse(text)
    obj = Executor(store, query, base).obj
    selected = [".".join(p.parts).lower() for p in query.select if isinstance(p, FieldPath)]
    return {"columnMetadata": _columns(store, query, obj, base), "entityName": obj.name, "groupBy": False,
            "idSelected": "id" in selected or (query.alias or "").lower() + ".id" in selected,
            "keyPrefix": obj.key_prefix}
