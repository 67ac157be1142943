"""Bulk API 2.0 over HTTP: `/services/data/vXX.X/jobs/ingest` (v41+) and `/jobs/query` (v47+).

Errors use the REST error array with Bulk 2.0's upper-case codes (INVALIDJOB, INVALIDJOBSTATE), e.g.
`[{"errorCode":"INVALIDJOBSTATE","message":"Aborting already Completed Job not allowed"}]`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, request

from .bulk2_csv import CSV_TYPE, DELIMITERS, LINE_ENDINGS, gzipped
from .bulk2_jobs import TERMINAL, IngestJob, Job, QueryJob
from .bulk_engine import RowBatch
from .bulk_worker import bulk_state
from .errors import SfError, not_found
from .web import api_version, current_org, current_session, json_body, sf_json

blueprint = Blueprint("localorg_bulk2", __name__, url_prefix="/services/data/v<version>/jobs")
OPERATIONS = {"insert": "insert", "update": "update", "upsert": "upsert", "delete": "delete",
              "harddelete": "hardDelete"}
RESULT_KINDS = {"successfulresults": "success", "failedresults": "failed", "unprocessedrecords": "unprocessed"}


@blueprint.url_value_preprocessor
def _pop_version(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values:
        values.pop("version", None)


@blueprint.before_request
def _min_version() -> None:
    minimum = 47 if "/jobs/query" in request.path else 41
    if float(api_version()) < minimum:
        raise not_found()


def job_error(code: str, message: str, status: int = 400) -> SfError:
    return SfError(code, message, status=status, with_fields=False)


def _dialect(body: dict[str, Any]) -> tuple[str, str]:
    delimiter = body.get("columnDelimiter") or "COMMA"
    line_ending = body.get("lineEnding") or "LF"
    if delimiter not in DELIMITERS:
        raise job_error("INVALIDJOB", f"Invalid column delimiter: {delimiter}")
    if line_ending not in LINE_ENDINGS:
        raise job_error("INVALIDJOB", f"Invalid line ending: {line_ending}")
    return delimiter, line_ending


def _find(job_id: str, kind: type[Job]) -> Job:
    job = bulk_state(current_org()).jobs.get(job_id)
    if not isinstance(job, kind):
        raise not_found()
    return job


# ---- ingest ------------------------------------------------------------------------------------------
@blueprint.post("/ingest")
def create_ingest() -> Response:
    multipart = request.mimetype == "multipart/form-data"
    body = _multipart_job() if multipart else (json_body() or {})
    org, session = current_org(), current_session()
    op = OPERATIONS.get(str(body.get("operation", "")).lower())
    if op is None:
        raise job_error("INVALIDJOB", f"InvalidJob : Invalid operation: {body.get('operation')}")
    if (body.get("contentType") or "CSV") != "CSV":
        raise job_error("INVALIDJOB", f"InvalidJob : Invalid content type: {body.get('contentType')}")
    obj = org.schema.get(str(body.get("object") or ""))
    if obj is None:
        raise job_error("INVALIDJOB", f"InvalidJob : sObject type '{body.get('object')}' is not supported.")
    ext_id = body.get("externalIdFieldName")
    if op == "upsert":
        if not ext_id:
            raise job_error("INVALIDJOB", f"InvalidJob : External ID was blank for {obj.name}. An External ID "
                            "must be specified for upsert.")
        org.store.key_field(obj, ext_id)
        ext_id = obj.field(ext_id).name  # type: ignore[union-attr]
    delimiter, line_ending = _dialect(body)
    job = IngestJob(org, op, obj.name, session.user_id, api_version(), delimiter, line_ending,
                    ext_id=ext_id if op == "upsert" else None)
    state = bulk_state(org)
    with state.lock:
        state.jobs[job.id] = job
        if not multipart:
            return sf_json(job.info(full=False))
        # job and CSV in one request: the job is created already closed (BulkGuide "multipart")
        part = request.files.get("content")
        job.batch = RowBatch(part.read() if part else request.form.get("content", "").encode(), job.delimiter)
        job.uploads = 1
        job.close(list(state.jobs.values()))
        out = job.info(full=False, content_url=False)
        state.worker.submit(job.run, job.id)
    return sf_json(out)


def _multipart_job() -> dict[str, Any]:
    try:
        body = json.loads(request.form.get("job") or "{}")
    except ValueError:
        raise job_error("INVALIDJOB", "InvalidJob : Unable to parse the job part of the multipart request") \
            from None
    return body if isinstance(body, dict) else {}


@blueprint.put("/ingest/<job_id>/batches")
def upload(job_id: str) -> Response:
    job = _find(job_id, IngestJob)
    assert isinstance(job, IngestJob)
    state = bulk_state(current_org())
    with state.lock:
        if job.state != "Open":
            raise job_error("INVALIDJOBSTATE", f"Job {job.id[:15]} is not in the Open state")
        job.uploads += 1
        if job.uploads > 1:
            # Salesforce's own wording, typo included (a second PUT on one job).
            raise job_error("INVALIDJOB", f"Found multipe contents for job: <{job.id[:15]}>, please 'Close' / "
                            "'Abort' / 'Delete' the current Job then create a new Job and make sure you only do "
                            "'PUT' once on a given Job.")
    job.batch = RowBatch(request.get_data(cache=False), job.delimiter)
    return Response(status=201)


@blueprint.patch("/ingest/<job_id>")
def patch_ingest(job_id: str) -> Response:
    return _patch(_find(job_id, IngestJob))


@blueprint.patch("/query/<job_id>")
def patch_query(job_id: str) -> Response:
    return _patch(_find(job_id, QueryJob))


def _patch(job: Job) -> Response:
    target = (json_body() or {}).get("state")
    state = bulk_state(job.org)
    with state.lock:
        if target == "UploadComplete" and isinstance(job, IngestJob):
            if job.state != "Open":
                raise job_error("INVALIDJOBSTATE", f"Closing already {_past(job.state)} Job not allowed")
            job.close(list(state.jobs.values()))
            out = job.info(full=False, content_url=False)  # before the worker can move it on
            state.worker.submit(job.run, job.id)
            return sf_json(out)
        elif target == "Aborted":
            if job.state in TERMINAL:
                raise job_error("INVALIDJOBSTATE", f"Aborting already {_past(job.state)} Job not allowed")
            job.abort_requested.set()
            job.set_state("Aborted")
        else:
            raise job_error("INVALIDJOBSTATE", f"Invalid state: {target}")
    return sf_json(job.info(full=False, content_url=False))


def _past(state: str) -> str:
    return {"JobComplete": "Completed", "UploadComplete": "Closed", "InProgress": "Closed"}.get(state, state)


@blueprint.delete("/ingest/<job_id>")
def delete_ingest(job_id: str) -> Response:
    return _delete(_find(job_id, IngestJob))


@blueprint.delete("/query/<job_id>")
def delete_query(job_id: str) -> Response:
    return _delete(_find(job_id, QueryJob))


def _delete(job: Job) -> Response:
    state = bulk_state(job.org)
    with state.lock:
        if job.state not in TERMINAL and job.state != "UploadComplete":
            raise job_error("API_ERROR", "Error encountered when deleting the job because the job is not "
                            "terminated")
        if job.state == "UploadComplete":
            job.abort_requested.set()
        state.jobs.pop(job.id, None)
    return Response(status=204)


@blueprint.get("/ingest/<job_id>")
def get_ingest(job_id: str) -> Response:
    return sf_json(_find(job_id, IngestJob).info())


@blueprint.get("/query/<job_id>")
def get_query(job_id: str) -> Response:
    return sf_json(_find(job_id, QueryJob).info())


@blueprint.get("/ingest")
def list_ingest() -> Response:
    return _list(IngestJob)


@blueprint.get("/query")
def list_query() -> Response:
    return _list(QueryJob)


def _list(kind: type[Job]) -> Response:
    jobs = [j for j in list(bulk_state(current_org()).jobs.values()) if isinstance(j, kind)]
    records = []
    for j in jobs[:1000]:
        info = j.info(full=True, content_url=False)
        records.append({k: info[k] for k in info if k not in ("numberRecordsProcessed", "numberRecordsFailed",
                        "retries", "totalProcessingTime", "apiActiveProcessingTime", "apexProcessingTime",
                        "errorMessage", "isPkChunkingSupported")})
    return sf_json({"done": True, "records": records, "nextRecordsUrl": None})


@blueprint.get("/ingest/<job_id>/<kind>")
def results(job_id: str, kind: str) -> Response:
    which = RESULT_KINDS.get(kind.lower())
    if which is None:
        raise not_found()
    job = _find(job_id, IngestJob)
    assert isinstance(job, IngestJob)
    if which != "unprocessed" and job.state not in TERMINAL:
        raise job_error("INVALIDJOBSTATE", "Job is not yet completed; results are not available")
    return _csv_response(job.result_chunks(which))


def _csv_response(chunks: Iterable[bytes], headers: dict[str, str] | None = None) -> Response:
    """CSV, gzip-compressed when the client accepts gzip (as Bulk 2.0 does)."""
    if "gzip" in request.headers.get("Accept-Encoding", "").lower():
        return Response(gzipped(chunks), content_type=CSV_TYPE,
                        headers={**(headers or {}), "Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return Response(chunks, content_type=CSV_TYPE, headers=headers)


# ---- query -------------------------------------------------------------------------------------------
@blueprint.post("/query")
def create_query() -> Response:
    body = json_body() or {}
    org, session = current_org(), current_session()
    op = body.get("operation") or "query"
    if op not in ("query", "queryAll"):
        raise job_error("INVALIDJOB", f"InvalidJob : Invalid operation: {op}")
    text = body.get("query")
    if not text:
        raise job_error("INVALIDJOB", "InvalidJob : The query is required")
    delimiter, line_ending = _dialect(body)
    job = QueryJob(org, op, "", session.user_id, api_version(), delimiter, line_ending, query=text)
    job.object = job.executor.obj.name
    created = job.info(full=False)  # before the worker can move it on
    state = bulk_state(org)
    with state.lock:
        state.jobs[job.id] = job
        state.worker.submit(job.run, job.id)
    return sf_json(created)


@blueprint.get("/query/<job_id>/results")
def query_results(job_id: str) -> Response:
    job = _find(job_id, QueryJob)
    assert isinstance(job, QueryJob)
    if job.state != "JobComplete":
        raise job_error("INVALIDJOBSTATE", "Job is not yet completed; results are not available")
    start = _locator_offset(request.args.get("locator"))
    size = request.args.get("maxRecords", type=int) or job.count or 1
    if size < 1:
        raise job_error("INVALIDREQUEST", "maxRecords must be greater than 0")
    text, n, next_offset = job.page(start, size)
    locator = base64.b64encode(str(next_offset).encode()).decode().rstrip("=") if next_offset else "null"
    return _csv_response([text.encode("utf-8")], {"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(n)})


def _locator_offset(locator: str | None) -> int:
    if not locator or locator == "null":
        return 0
    try:
        return int(base64.b64decode(locator + "=" * (-len(locator) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        raise job_error("INVALIDREQUEST", f"Invalid locator: {locator}") from None
