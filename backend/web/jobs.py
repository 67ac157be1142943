"""JSON API for saved jobs and their sources: upload, inspect, create, update, list, get."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, request

from backend.connectors import stored
from backend.errors import ConfigError, InflowError, SalesforceError
from backend.extensions import db
from backend.models import Account, Job, OrgConnection, TenantScope
from backend.models.audit import record
from backend.models.connections import Connection
from backend.pipeline.mapping import OPERATIONS, Mapping
from backend.pipeline.sources import Source, create_source, source_class
from backend.pipeline.sources.csv import DELIMITERS
from backend.pipeline.sources.sniff import csv_refusal
from backend.pipeline.sources.xlsx import XlsxSource
from backend.runs.pieces import blob_opener
from backend.services import get_blob_store, get_settings
from backend.storage.blobs import BlobWriter, expiry_for
from backend.web.authn import current_identity, login_required
from backend.web.uploads import accept_uploads

bp = Blueprint("jobs", __name__)
SAMPLE_ROWS = 5
APIS = ("auto", "rest", "bulk2", "bulk1")
EXCEL_TYPES = (".xlsx",)
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252", "latin-1": "Latin-1",
                  "iso8859-1": "Latin-1", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16"}


@bp.errorhandler(InflowError)
def inflow_error(err: InflowError) -> tuple[Response, int]:
    db.session.rollback()
    status = 502 if isinstance(err, SalesforceError) else 400
    return jsonify(error=type(err).__name__, message=err.message), status


def source_type_for(filename: str) -> str:
    return "xlsx" if filename.lower().endswith(EXCEL_TYPES) else "csv"


def open_source(scope: TenantScope, spec: dict[str, Any], **kwargs: Any) -> Source:
    """The job-style source spec {"type", "config", "blob_id"} as a Source reading the account's blob, or
    {"connection_id", "read"} as the connector's Source (read in memory, as the worker will)."""
    if isinstance(spec, dict) and spec.get("connection_id"):
        return stored.open_source(scope, _connection_source(scope, spec),
                                  allow_loopback=get_settings().egress_allow_loopback)
    if not isinstance(spec, dict) or not spec.get("type"):
        raise ConfigError("Choose a file or a connection as the source.")
    source_class(spec["type"])  # unknown type: ConfigError naming the known ones
    blob_id = spec.get("blob_id")
    store = get_blob_store()
    if blob_id:
        store.get_blob(scope.account_id, str(blob_id))  # another account's or an expired file: 404
    opener = blob_opener(store, scope.account_id, str(blob_id)) if blob_id else None
    return create_source(spec["type"], spec.get("config") or {}, open_stream=opener, **kwargs)


def inspect(source: Source, *, count: bool = False) -> dict[str, Any]:
    """Columns and the first rows, for the wizard's source step and the mapping grid's preview; with `count`,
    also the number of rows (one streamed pass over the whole file) and what detection settled on."""
    columns = source.columns()
    rows: list[list[str]] = []
    total = 0
    for chunk in source.read():
        total += len(chunk) + len(chunk.rejected)
        frame = chunk.frame.head(SAMPLE_ROWS - len(rows)).astype(object)
        rows += [["" if v is None or v != v else str(v) for v in r] for r in frame.itertuples(index=False)]
        if len(rows) >= SAMPLE_ROWS and not count:
            break
    answer: dict[str, Any] = {"columns": columns, "rows": rows, "warnings": list(source.warnings)}
    if count:
        answer.update(row_count=total, detected=detected_settings(source))
    return answer


def detected_settings(source: Source) -> dict[str, Any]:
    """What "Detect automatically" chose (CSV encoding and delimiter) and a workbook's sheets."""
    if isinstance(source, XlsxSource):
        return {"sheets": source.sheets(), "sheet": source.sheet}
    encoding = getattr(source, "encoding", None)
    return {"encoding": ENCODING_NAMES.get(encoding.codec, encoding.codec) if encoding else None,
            "delimiter": DELIMITERS.get(getattr(source, "delimiter", None) or "", None)}


def judge_upload(filename: str, head: bytes, complete: bool) -> str | None:
    """Refused at the door: a file uploaded as CSV (any name but .xlsx) that is binary or an archive.
    A zip is a workbook only when uploaded as Excel; what is inside is the xlsx reader's to judge."""
    return None if source_type_for(filename) == "xlsx" else csv_refusal(head, complete)


@bp.post("/api/sources/upload")
@login_required
def upload() -> tuple[Response, int]:
    """A file streamed into the encrypted blob store (expires in an hour), with its columns and first rows."""
    me = current_identity()
    store = get_blob_store()

    def create(filename: str, content_type: str) -> BlobWriter:
        return store.create(me.account.id, "upload", name=filename[:255], content_type=content_type,
                            expires_at=expiry_for("upload", me.account.retention_days))

    accept_uploads(create, judge=judge_upload)
    files = request.files.getlist("file")
    if len(files) != 1:
        abort(400, description="send one file as the multipart form field 'file'")
    blob = files[0].stream.finish()
    spec = {"type": source_type_for(blob.name), "config": {}, "blob_id": blob.id, "name": blob.name}
    record("source.upload", account_id=me.account.id, user_id=me.user.id if me.user else None,
           target=blob.id, size=blob.size)
    db.session.commit()
    try:
        details = inspect(open_source(me.scope, spec), count=True)
    except InflowError as err:
        return jsonify(source=spec, size=blob.size, error=err.message), 201
    return jsonify(source=spec, size=blob.size, **details), 201


@bp.post("/api/sources/inspect")
@login_required
def inspect_source() -> Response:
    me = current_identity()
    body = request.get_json(silent=True) or {}
    spec = body.get("source")
    return jsonify(source=spec, **inspect(open_source(me.scope, spec), count=bool(body.get("count"))))


def job_json(job: Job) -> dict[str, Any]:
    mapping = dict(job.mapping or {})
    return {"id": job.id, "name": job.name, "source": job.source, "org_connection_id": job.org_connection_id,
            "object": job.object_name, "operation": job.operation, "api": mapping.pop("api", "auto"),
            "mapping": mapping, "schedule": job.schedule, "active": job.active,
            "updated_at": job.updated_at.isoformat() if job.updated_at else None}


def _apply(job: Job, body: dict[str, Any], scope: TenantScope) -> None:
    """Check and copy the wizard's fields onto the job; ConfigError explains what is wrong."""
    name = str(body.get("name") or "").strip()
    if not name:
        raise ConfigError("Give the job a name.")
    org_id = body.get("org_connection_id")
    if not org_id:
        raise ConfigError("Choose the Salesforce instance to import into.")
    scope.get(OrgConnection, str(org_id))
    api = body.get("api") or "auto"
    if api not in APIS:
        raise ConfigError(f"Unknown API '{api}'; use one of {', '.join(APIS)}.")
    mapping_data = dict(body.get("mapping") or {})
    mapping_data.pop("api", None)
    mapping_data["object"] = body.get("object") or mapping_data.get("object")
    mapping_data["operation"] = body.get("operation") or mapping_data.get("operation") or "insert"
    mapping = Mapping.from_dict(mapping_data)
    if mapping.operation not in OPERATIONS:
        raise ConfigError("Unknown operation.")
    source = body.get("source") or {}
    if isinstance(source, dict) and source.get("connection_id"):
        source = _connection_source(scope, source)
    else:
        open_source(scope, source)  # the file must exist and belong to this account
        source = {k: source[k] for k in ("type", "config", "blob_id", "name") if k in source}
    job.name, job.org_connection_id = name[:255], str(org_id)
    job.object_name, job.operation = mapping.object, mapping.operation
    job.source = source
    job.mapping = {**mapping.to_dict(), "api": api}
    # The schedule is not a field of this form: /api/jobs/<id>/schedule sets it (checked, audited).
    if mapping.options.date_formats:  # remembered for the account's next new job
        scope_account = db.session.get(Account, scope.account_id)
        if scope_account is not None:
            scope_account.date_format = mapping.options.date_formats[0]


READS = ("table", "columns", "where", "query", "path", "pick", "unsupported_as_text")


def _connection_source(scope: TenantScope, source: dict[str, Any]) -> dict[str, Any]:
    """{"connection_id", "read": {table[, columns, where]} | {query} | {path[, pick]}} of this account."""
    scope.get(Connection, str(source["connection_id"]))  # another account's connection: 404
    read = {k: v for k, v in dict(source.get("read") or {}).items() if k in READS and v not in (None, "")}
    if sum(1 for k in ("table", "query", "path") if read.get(k)) != 1:
        raise ConfigError("Say what to read from the connection: a table, a query or a path (one of them).")
    return {"type": "connection", "connection_id": str(source["connection_id"]), "read": read}


@bp.get("/api/jobs")
@login_required
def list_jobs() -> Response:
    me = current_identity()
    return jsonify([job_json(j) for j in me.scope.all(Job, order_by=Job.updated_at.desc())])


@bp.post("/api/jobs")
@login_required
def create_job() -> tuple[Response, int]:
    me = current_identity()
    job = Job(name="", object_name="", operation="insert")
    _apply(job, request.get_json(silent=True) or {}, me.scope)
    me.scope.add(job)
    db.session.flush()
    record("job.create", account_id=me.account.id, user_id=me.user.id if me.user else None, target=job.id)
    db.session.commit()
    return jsonify(job_json(job)), 201


@bp.get("/api/jobs/<job_id>")
@login_required
def get_job(job_id: str) -> Response:
    return jsonify(job_json(current_identity().scope.get(Job, job_id)))


@bp.put("/api/jobs/<job_id>")
@login_required
def update_job(job_id: str) -> Response:
    me = current_identity()
    job = me.scope.get(Job, job_id)
    _apply(job, request.get_json(silent=True) or {}, me.scope)
    record("job.update", account_id=me.account.id, user_id=me.user.id if me.user else None, target=job.id)
    db.session.commit()
    return jsonify(job_json(job))
