"""REST API: versions, resources, describes, record CRUD, upsert by external id, limits."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from .describe import _flags, _urls, global_describe, sobject_describe
from .errors import MultipleMatches, SfError, entity_deleted, not_found
from .ids import to18
from .records import record_json
from .rest_locks import hold_one, holds_parents
from .schema import SObjectType
from .table import Record
from .web import MAX_VERSION, MIN_VERSION, api_version, base_path, current_org, current_session, json_body, sf_json

blueprint = Blueprint("localorg_rest", __name__, url_prefix="/services/data/v<version>")
versions_bp = Blueprint("localorg_versions", __name__)
_SEASONS = ["Spring", "Summer", "Winter"]


@blueprint.url_value_preprocessor
def _pop_version(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values:
        values.pop("version", None)


def version_list() -> list[dict[str, str]]:
    out = []
    for v in range(MIN_VERSION, MAX_VERSION + 1):
        # v31.0 is Summer '14; three releases a year, Winter named after the following year.
        k = v - 31 + 1
        season = _SEASONS[k % 3]
        year = 14 + (k + 1) // 3
        out.append({"label": f"{season} '{year:02d}", "url": f"/services/data/v{v}.0", "version": f"{v}.0"})
    return out


@versions_bp.get("/services/data/")
@versions_bp.get("/services/data")
def versions() -> Response:
    return sf_json(version_list())


@blueprint.get("/")
def resources() -> Response:
    org, s = current_org(), current_session()
    base = base_path()
    names = ["tooling", "metadata", "eclair", "folders", "prechatForms", "contact-tracing", "jsonxform",
             "chatter", "tabs", "appMenu", "quickActions", "queryAll", "commerce", "wave", "iot", "analytics",
             "search", "smartdatadiscovery", "identity", "composite", "parameterizedSearch", "fingerprint",
             "theme", "nouns", "domino", "event", "serviceTemplates", "recent", "connect", "licensing",
             "limits", "process", "async-queries", "query", "match", "emailConnect", "compactLayouts",
             "knowledgeManagement", "sobjects", "actions", "support", "jobs", "consent", "dedupe"]
    out = {n: f"{base}/{n}" for n in names}
    out["identity"] = f"{org.instance_url}/id/{org.id}/{s.user_id}"
    return sf_json(out)


@blueprint.get("/sobjects")
def describe_global() -> Response:
    return sf_json(global_describe(current_org().store, base_path()))


def _sobject(name: str) -> SObjectType:
    obj = current_org().schema.get(name)
    if obj is None:
        raise not_found()
    return obj


@blueprint.get("/sobjects/<name>")
def sobject_info(name: str) -> Response:
    obj = _sobject(name)
    urls = {k: v for k, v in _urls(obj, base_path()).items() if v is not None and not k.startswith("ui")}
    return sf_json({"objectDescribe": dict(_flags(obj), urls=urls), "recentItems": []})


@blueprint.get("/sobjects/<name>/describe")
def describe(name: str) -> Response:
    org = current_org()
    return sf_json(sobject_describe(org.store, _sobject(name), base_path(), org.instance_url))


@blueprint.post("/sobjects/<name>")
@holds_parents
def create(name: str) -> Response:
    obj = _sobject(name)
    body = _record_body()
    hold_one(obj, body)
    rid = current_org().store.insert(obj.name, body, user=current_session().user_id)
    return sf_json({"id": rid, "success": True, "errors": []}, 201,
                   {"Location": f"{base_path()}/sobjects/{obj.name}/{rid}"})


def _record_body() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise SfError("JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from START_ARRAY value "
                      "[line:1, column:1]")
    return body


def _existing(obj: SObjectType, rid: str) -> Record:
    full = to18(rid)
    if full is None:
        raise not_found(f"Provided external ID field does not exist or is not accessible: {rid}")
    t, rec, deleted = current_org().store.locate(full)
    if t is None or rec is None or t.obj is not obj:
        raise not_found()
    if deleted:
        raise entity_deleted()
    return rec


@blueprint.get("/sobjects/<name>/<rid>")
def retrieve(name: str, rid: str) -> Response:
    obj = _sobject(name)
    rec = _existing(obj, rid)
    return sf_json(record_json(obj, rec, base_path(), _field_list(obj)))


def _field_list(obj: SObjectType) -> list[str] | None:
    raw = request.args.get("fields")
    if not raw:
        return None
    out = []
    for name in (n.strip() for n in raw.split(",") if n.strip()):
        f = obj.field(name)
        if f is None:
            raise SfError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")
        out.append(f.name)
    return out


@blueprint.post("/sobjects/<name>/<key>")
@holds_parents
def create_via_id_key(name: str, key: str) -> Response:
    """POST /sobjects/{obj}/Id (v37+): an upsert on Id without a value inserts."""
    if key.lower() != "id":
        raise SfError("METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are GET,PATCH,DELETE",
                      status=405, with_fields=False)
    return create(name)


@blueprint.patch("/sobjects/<name>/<rid>")
@holds_parents
def update(name: str, rid: str) -> Response:
    obj = _sobject(name)
    rec = _existing(obj, rid)
    body = _record_body()
    hold_one(obj, body, rec["Id"])
    current_org().store.update(obj.name, rec["Id"], body, user=current_session().user_id)
    return Response(status=204)


@blueprint.delete("/sobjects/<name>/<rid>")
@holds_parents
def delete(name: str, rid: str) -> Response:
    obj = _sobject(name)
    rec = _existing(obj, rid)
    hold_one(obj, {}, rec["Id"])
    current_org().store.delete(rec["Id"], obj.name)
    return Response(status=204)


@blueprint.route("/sobjects/<name>/<key>/<path:value>", methods=["PATCH", "POST"])
@holds_parents
def upsert(name: str, key: str, value: str) -> Response:
    obj = _sobject(name)
    org = current_org()
    body = _record_body()
    f = org.store.key_field(obj, key)
    if request.method == "POST" and f.name != "Id":
        raise SfError("METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are GET,PATCH,DELETE",
                      status=405, with_fields=False)
    if request.args.get("updateOnly") == "true" and not org.store.match(org.store.table(obj.name), f, value):
        raise not_found()
    hold_one(obj, body, by_key=(f.name, value))
    try:
        rid, created = org.store.upsert(obj.name, f.name, value, body, user=current_session().user_id)
    except MultipleMatches as err:
        return sf_json([f"{base_path()}/sobjects/{obj.name}/{i}" for i in err.ids], 300)
    if float(api_version()) < 46:
        if created:
            return sf_json({"id": rid, "success": True, "errors": []}, 201)
        return Response(status=204)
    return sf_json({"id": rid, "success": True, "errors": [], "created": created}, 201 if created else 200)


@blueprint.route("/sobjects/<name>/<key>/<path:value>", methods=["GET", "DELETE"])
@holds_parents
def by_external_id(name: str, key: str, value: str) -> Response:
    obj = _sobject(name)
    store = current_org().store
    f = store.key_field(obj, key)
    ids = store.match(store.table(obj.name), f, value)
    if not ids:
        raise not_found()
    if len(ids) > 1:
        return sf_json([f"{base_path()}/sobjects/{obj.name}/{i}" for i in ids], 300)
    if request.method == "DELETE":
        hold_one(obj, {}, ids[0])
        store.delete(ids[0], obj.name)
        return Response(status=204)
    return sf_json(record_json(obj, store.table(obj.name).rows[ids[0]], base_path()))


@blueprint.get("/limits")
def limits() -> Response:
    org = current_org()
    k = org.knobs
    out = {"DailyApiRequests": {"Max": k.api_allowance, "Remaining": max(0, k.api_allowance - org.api_used)}}
    for name, mx in (("DailyAsyncApexExecutions", 250000), ("DailyBulkApiBatches", 15000),
                     ("DailyBulkV2QueryFileStorageMB", 976562), ("DailyBulkV2QueryJobs", 10000),
                     ("DataStorageMB", 5), ("FileStorageMB", 20), ("HourlyAsyncReportRuns", 1200),
                     ("MassEmail", 10), ("SingleEmail", 15), ("ConcurrentAsyncGetReportInstances", 200)):
        out[name] = {"Max": mx, "Remaining": mx}
    used = org.extra.get("bulk_batches_used", 0)
    out["DailyBulkApiBatches"]["Remaining"] = max(0, 15000 - used)
    return sf_json(out)


@blueprint.get("/limits/recordCount")
def record_count() -> Response:
    store = current_org().store
    wanted = [n for n in request.args.get("sObjects", "").split(",") if n] or list(store.tables)
    out = []
    for n in wanted:
        obj = store.schema.get(n)
        count = store.count(obj.name) if obj else 0
        if count:
            out.append({"count": count, "name": obj.name})  # type: ignore[union-attr]
    return sf_json({"sObjects": out})

