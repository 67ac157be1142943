"""sObject Tree: POST /composite/tree/{obj} creates up to 200 records with nested children, all or none."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .describe import find_child_relationship
from .errors import SfError
from .rest_locks import claim, holds_parents
from .schema import SObjectType
from .store import Store
from .web import current_org, current_session, json_body, sf_json

blueprint = Blueprint("localorg_composite_tree", __name__, url_prefix="/services/data/v<version>/composite/tree")
MAX_RECORDS = 200


@blueprint.url_value_preprocessor
def _pop_version(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values:
        values.pop("version", None)


class _Failed(Exception):
    def __init__(self, ref: str | None, err: SfError) -> None:
        super().__init__(err.message)
        self.ref, self.err = ref, err


def _count(records: list[dict[str, Any]], obj: SObjectType, store: Store) -> int:
    n = 0
    for rec in records:
        n += 1
        for key, value in rec.items():
            if isinstance(value, dict) and isinstance(value.get("records"), list):
                child = find_child_relationship(store, obj, key)
                n += _count(value["records"], child[0], store) if child else 0
    return n


def _insert(store: Store, obj: SObjectType, records: list[dict[str, Any]], parent: tuple[str, str] | None,
            user: str, out: list[dict[str, Any]]) -> None:
    for rec in records:
        ref = (rec.get("attributes") or {}).get("referenceId")
        values: dict[str, Any] = {}
        nested: list[tuple[str, list[dict[str, Any]]]] = []
        for key, value in rec.items():
            if isinstance(value, dict) and isinstance(value.get("records"), list):
                nested.append((key, value["records"]))
            elif key != "attributes":
                values[key] = value
        if parent:
            values[parent[0]] = parent[1]
        try:
            rid = store.insert(obj.name, values, user=user)
        except SfError as err:
            raise _Failed(ref, err) from None
        out.append({"referenceId": ref, "id": rid})
        for rel, children in nested:
            child = find_child_relationship(store, obj, rel)
            if child is None:
                raise _Failed(ref, SfError("INVALID_FIELD", f"No such column '{rel}' on sobject of type {obj.name}"))
            _insert(store, child[0], children, (child[1], rid), user, out)


@blueprint.post("/<name>")
@holds_parents
def tree(name: str) -> Response:
    store = current_org().store
    obj = store.sobject(name)
    body = json_body()
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not records:
        raise SfError("INVALID_INPUT", "records are required", with_fields=False)
    if _count(records, obj, store) > MAX_RECORDS:
        raise SfError("INVALID_INPUT", "Too many records. The maximum number of records is 200.", with_fields=False)
    roots = [rec for rec in records if isinstance(rec, dict)]
    for rec, err in zip(roots, claim([(obj, rec, None) for rec in roots]), strict=True):
        if err is not None:   # the tree is one transaction: a root record that cannot lock fails it all
            ref = (rec.get("attributes") or {}).get("referenceId")
            return sf_json({"hasErrors": True, "results": [{"referenceId": ref, "errors": [err.collection()]}]}, 400)
    out: list[dict[str, Any]] = []
    try:
        with store.transaction():
            _insert(store, obj, records, None, current_session().user_id, out)
    except _Failed as failed:
        return sf_json({"hasErrors": True, "results": [{"referenceId": failed.ref,
                                                         "errors": [failed.err.collection()]}]}, 400)
    return sf_json({"hasErrors": False, "results": out}, 201)
