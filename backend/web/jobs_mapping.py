"""JSON API behind the wizard's target and mapping steps: objects, fields, automap, preview, validate."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from backend.errors import ConfigError, InflowError
from backend.models import OrgConnection, TenantScope
from backend.pipeline.lookups import LookupResolver
from backend.pipeline.mapping import Mapper, Mapping, auto_map, dates, preview, required_fields, validate_mapping
from backend.pipeline.mapping.validate import date_format_issues
from backend.services import get_keyring, get_settings
from backend.web.authn import current_identity, login_required
from backend.web.jobs import inflow_error, open_source

bp = Blueprint("jobs_mapping", __name__)
bp.register_error_handler(InflowError, inflow_error)
PREVIEW_ROWS = 5
MAX_REPORTED_ERRORS = 100
DATE_SAMPLE = 500  # values of a date column looked at for detection
FIELD_KEYS = ("name", "label", "type", "length", "nillable", "createable", "updateable", "externalId",
              "idLookup", "unique", "referenceTo", "relationshipName", "defaultedOnCreate", "calculated")


def client_for_org(scope: TenantScope, org_id: str) -> Any:
    from backend.salesforce.session import client_for

    org = scope.get(OrgConnection, org_id)
    if org.status != "connected":
        raise ConfigError("This Salesforce instance is disconnected; reconnect it first.")
    return client_for(org, get_keyring(), get_settings())


def field_summary(describe: dict[str, Any]) -> list[dict[str, Any]]:
    required = {f["name"] for f in required_fields(describe)}
    out = []
    for f in describe.get("fields", []):
        item = {k: f.get(k) for k in FIELD_KEYS}
        item["required"] = f["name"] in required
        item["picklist"] = [p.get("value") for p in f.get("picklistValues") or [] if p.get("active", True)]
        out.append(item)
    return out


@bp.get("/api/orgs/<org_id>/objects")
@login_required
def objects(org_id: str) -> Response:
    """Objects one can import into: label and API name, for the searchable object picker."""
    client = client_for_org(current_identity().scope, org_id)
    listing = client.json("GET", "sobjects").get("sobjects", [])
    usable = [{"name": o["name"], "label": o.get("label") or o["name"], "custom": bool(o.get("custom"))}
              for o in listing if o.get("createable") or o.get("updateable") or o.get("deletable")]
    return jsonify(sorted(usable, key=lambda o: o["label"].lower()))


@bp.get("/api/orgs/<org_id>/objects/<name>")
@login_required
def describe(org_id: str, name: str) -> Response:
    d = client_for_org(current_identity().scope, org_id).describe(name)
    return jsonify(name=d.get("name"), label=d.get("label"), fields=field_summary(d))


def _body() -> tuple[TenantScope, dict[str, Any], Any]:
    me = current_identity()
    body = request.get_json(silent=True) or {}
    org_id = body.get("org_connection_id")
    if not org_id:
        raise ConfigError("Choose the Salesforce instance to import into.")
    return me.scope, body, client_for_org(me.scope, str(org_id))


def _mapping(body: dict[str, Any]) -> Mapping:
    data = dict(body.get("mapping") or {})
    data.pop("api", None)
    return Mapping.from_dict(data)


@bp.post("/api/mapping/automap")
@login_required
def automap() -> Response:
    """Suggested column -> field pairs with their confidence, plus the object's fields."""
    scope, body, client = _body()
    d = client.describe(str(body.get("object") or ""))
    source = open_source(scope, body.get("source"))
    columns = source.columns()
    suggestions = auto_map(columns, d, str(body.get("operation") or "insert"))
    return jsonify(columns=columns, fields=field_summary(d), **_date_default(source, d, suggestions),
                   suggestions=[{"column": s.column, "field": s.field, "score": round(s.score, 2),
                                 "reason": s.reason} for s in suggestions])


def _date_default(source: Any, describe: dict[str, Any], suggestions: list[Any]) -> dict[str, str]:
    """The date format a new mapping starts with: what the date columns' values say, else the format the
    account's last saved job chose, else the one of the Salesforce user's locale."""
    me = current_identity()
    types = {f["name"]: f.get("type") for f in describe.get("fields", [])}
    first = next(iter(source.read()), None)
    for s in suggestions:
        if types.get(s.field) in ("date", "datetime") and first is not None:
            found = dates.detect(first.frame[s.column].head(DATE_SAMPLE).tolist())
            if found:
                return {"date_format": found, "date_format_reason": f"Detected from the values of '{s.column}'."}
    if me.account.date_format:
        return {"date_format": me.account.date_format, "date_format_reason": "As in your last saved job."}
    locale = me.user.locale if me.user else ""
    return {"date_format": dates.for_locale(locale),
            "date_format_reason": f"Usual for your Salesforce locale ({locale})." if locale else ""}


def _row_errors(errors: list[Any]) -> list[dict[str, Any]]:
    return [{"row": e.row_number, "message": e.message} for e in errors[:MAX_REPORTED_ERRORS]]


def _report(mapping: Mapping, describe: dict[str, Any], source: Any, columns: list[str]) -> Any:
    """The mapping's problems, with date columns checked against the chosen format on the first rows."""
    report = validate_mapping(mapping, describe, columns)
    first = next(iter(source.read()), None)
    if first is not None:
        report.errors += date_format_issues(mapping, describe, first.frame.head(DATE_SAMPLE))
    return report


@bp.post("/api/mapping/preview")
@login_required
def mapping_preview() -> Response:
    """The first rows as they would be sent (lookups show the value to look up), and the mapping's problems."""
    scope, body, client = _body()
    mapping = _mapping(body)
    d = client.describe(mapping.object)
    source = open_source(scope, body.get("source"))
    columns = source.columns()
    report = _report(mapping, d, source, columns)
    result = preview(mapping, d, source.read(), columns, limit=PREVIEW_ROWS) if report.ok else None
    return jsonify(report=report.to_dict(), rows=result.rows if result else [],
                   row_numbers=result.row_numbers if result else [],
                   errors=_row_errors(result.errors) if result else [])


@bp.post("/api/mapping/validate")
@login_required
def validate() -> Response:
    """Every row mapped and its lookups resolved, nothing written: which rows would fail, and why."""
    scope, body, client = _body()
    mapping = _mapping(body)
    d = client.describe(mapping.object)
    source = open_source(scope, body.get("source"))
    columns = source.columns()
    report = _report(mapping, d, source, columns)
    if not report.ok:
        return jsonify(report=report.to_dict(), rows=0, valid=0, errors=[], error_count=0)
    mapper, resolver = Mapper(mapping, d, columns), LookupResolver(client, mapping)
    rows = valid = 0
    errors: list[Any] = []
    error_count = 0
    for chunk in source.read():
        mapped = resolver.resolve(mapper.map_chunk(chunk))
        rows += len(chunk) + len(chunk.rejected)
        valid += len(mapped)
        error_count += len(mapped.errors)
        if len(errors) < MAX_REPORTED_ERRORS:
            errors += mapped.errors
    return jsonify(report=report.to_dict(), rows=rows, valid=valid, error_count=error_count,
                   errors=_row_errors(sorted(errors, key=lambda e: e.row_number)))
