"""Composite API: sObject Collections (/composite/sobjects) and /composite with referenceId substitution."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, current_app, request

from . import dml, rest_locks
from .errors import SfError
from .records import record_json
from .rest_locks import apply_locked, holds_parents
from .web import base_path, bearer_token, current_org, current_session, json_body, sf_json

blueprint = Blueprint("localorg_composite", __name__, url_prefix="/services/data/v<version>/composite")
MAX_RECORDS = 200
HALTED = "The transaction was rolled back since another operation in the same transaction failed."
_REF = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")


@blueprint.url_value_preprocessor
def _pop_version(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values:
        values.pop("version", None)


def _records_body() -> tuple[list[dict[str, Any]], bool]:
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SfError("JSON_PARSER_ERROR", "Cannot deserialize instance of sObject[] from missing records")
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise SfError("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this "
                      "call", with_fields=False)
    return records, bool(body.get("allOrNone"))


def _respond(results: list[dml.RowResult], created: bool = False) -> Response:
    return sf_json([r.collection(created) for r in results])


@blueprint.post("/sobjects")
@holds_parents
def create() -> Response:
    records, all_or_none = _records_body()
    bad = [i for i, r in enumerate(records) if any(k.lower() == "id" and v for k, v in r.items())]
    if bad:
        raise SfError("INVALID_FIELD", "Records may not set id", with_fields=False)
    return _respond(apply_locked("insert", None, records, all_or_none=all_or_none, user=current_session().user_id))


@blueprint.patch("/sobjects")
@holds_parents
def update() -> Response:
    records, all_or_none = _records_body()
    return _respond(apply_locked("update", None, records, all_or_none=all_or_none, user=current_session().user_id))


@blueprint.patch("/sobjects/<name>/<key>")
@holds_parents
def upsert(name: str, key: str) -> Response:
    records, all_or_none = _records_body()
    store = current_org().store
    obj = store.sobject(name)
    f = obj.field(key)
    if f is None or not (f.external_id or f.id_lookup):
        raise SfError("INVALID_FIELD", f"Field name provided, {key} is not an External ID or indexed field for "
                      f"{obj.name}", with_fields=False)
    return _respond(apply_locked("upsert", obj.name, records, key_field=f.name, all_or_none=all_or_none,
                                 user=current_session().user_id), created=True)


@blueprint.delete("/sobjects")
@holds_parents
def delete() -> Response:
    ids = [i for i in request.args.get("ids", "").split(",") if i]
    if not ids:
        raise SfError("REQUIRED_FIELD_MISSING", "At least 1 Id is required.", with_fields=False)
    if len(ids) > MAX_RECORDS:
        raise SfError("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this "
                      "call", with_fields=False)
    all_or_none = request.args.get("allOrNone", "false").lower() == "true"
    return _respond(apply_locked("delete", None, [{"Id": i} for i in ids], all_or_none=all_or_none))


@blueprint.get("/sobjects/<name>")
def retrieve(name: str) -> Response:
    store = current_org().store
    obj = store.sobject(name)
    fields = [f for f in request.args.get("fields", "").split(",") if f]
    names = []
    for fname in fields:
        f = obj.field(fname)
        if f is None:
            raise SfError("INVALID_FIELD", f"No such column '{fname}' on sobject of type {obj.name}")
        names.append(f.name)
    out = []
    for rid in [i for i in request.args.get("ids", "").split(",") if i]:
        rec = store.get(rid)
        out.append(record_json(obj, rec, base_path(), names or None) if rec and rec["Id"][:3] == obj.key_prefix
                   else None)
    return sf_json(out)


@blueprint.post("")
@blueprint.post("/")
@holds_parents
def composite() -> Response:
    body = json_body()
    subs = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subs, list) or not subs or len(subs) > 25:
        raise SfError("INVALID_INPUT", "compositeRequest must hold 1 to 25 subrequests", with_fields=False)
    all_or_none = bool(body.get("allOrNone"))
    store = current_org().store
    rest_locks.reserve(subs)   # before the transaction: its latency is slept outside the store lock
    results: list[dict[str, Any]] = []
    if not all_or_none:
        _run_all(subs, results, halt=False)
        return sf_json({"compositeResponse": results})
    try:
        with store.transaction():
            if not _run_all(subs, results, halt=True):
                raise _RolledBack
    except _RolledBack:
        for r in results:
            if r["httpStatusCode"] < 400:
                r.update(body=[{"errorCode": "PROCESSING_HALTED", "message": HALTED}], httpHeaders={},
                         httpStatusCode=400)
        for sub in subs[len(results):]:
            results.append({"body": [{"errorCode": "PROCESSING_HALTED", "message": HALTED}], "httpHeaders": {},
                            "httpStatusCode": 400, "referenceId": sub.get("referenceId")})
    return sf_json({"compositeResponse": results})


class _RolledBack(Exception):
    pass


def _run_all(subs: list[dict[str, Any]], results: list[dict[str, Any]], halt: bool) -> bool:
    done: dict[str, Any] = {}
    for sub in subs:
        try:
            url = _substitute(sub.get("url", ""), done)
            payload = json.loads(_substitute(json.dumps(sub["body"]), done)) if "body" in sub else None
        except KeyError as missing:
            results.append({"body": [{"errorCode": "PROCESSING_HALTED", "message": f"Invalid reference "
                                      f"specified. No value for {missing.args[0]} found in the previous "
                                      "responses."}], "httpHeaders": {}, "httpStatusCode": 400,
                            "referenceId": sub.get("referenceId")})
            if halt:
                return False
            continue
        status, headers, out = _call(sub.get("method", "GET"), url, payload, sub.get("httpHeaders") or {})
        results.append({"body": out, "httpHeaders": headers, "httpStatusCode": status,
                        "referenceId": sub.get("referenceId")})
        if status < 400:
            done[sub.get("referenceId", "")] = out
        elif halt:
            return False
    return True


def _substitute(text: str, done: dict[str, Any]) -> str:
    def value(m: re.Match[str]) -> str:
        ref, path = m.group(1), m.group(2)
        if ref not in done:
            raise KeyError(f"{ref}{path}")
        cur: Any = done[ref]
        for part in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
            try:
                cur = cur[part[0]] if part[0] else cur[int(part[1])]
            except (KeyError, IndexError, TypeError):
                raise KeyError(f"{ref}{path}") from None
        return str(cur)
    return _REF.sub(value, text)


def _call(method: str, url: str, payload: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    """Run one subrequest through the same app (same org and session, not metered again)."""
    client = current_app.test_client()
    hdrs = {"Authorization": f"Bearer {bearer_token()}", **headers}
    resp = client.open(url, method=method.upper(), json=payload, headers=hdrs,
                       environ_overrides={"localorg.org": request.environ.get("localorg.org"),
                                          "localorg.internal": True,
                                          rest_locks.HOLDER: rest_locks.request_holder()})
    out = resp.get_json(silent=True) if resp.data else None
    keep = {k: v for k, v in resp.headers.items() if k == "Location"}
    return resp.status_code, keep, out
