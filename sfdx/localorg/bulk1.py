"""Bulk API 1.0 over HTTP (`/services/async/XX.X/job...`) as salesforce-bulk and simple-salesforce's sf.bulk use it.

XML jobs (salesforce-bulk) and JSON jobs (simple-salesforce) with CSV or JSON batches. Authentication
is the `X-SFDC-Session` header; a bad session is HTTP 400 with exceptionCode InvalidSessionId (XML, or
JSON for JSON requests), never 401. CSV results are served as exactly `text/csv`.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from flask import Blueprint, Response, g, request

from .bulk1_jobs import JSON_TYPE, NS, XML_TYPE, Bulk1Job, as_json, xml_doc
from .bulk2_csv import chunked
from .bulk_worker import bulk_state
from .errors import SfError
from .metering import meter
from .web import MAX_VERSION, authenticate, bearer_token

blueprint = Blueprint("localorg_bulk1", __name__, url_prefix="/services/async/<version>")
OPERATIONS = {"insert", "update", "upsert", "delete", "hardDelete", "query", "queryAll"}


class AsyncError(Exception):
    """A Bulk 1.0 error: <error><exceptionCode/><exceptionMessage/></error> with HTTP 400 (or 404)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _wants_json() -> bool:
    return "json" in (request.headers.get("Content-Type") or "").lower()


@blueprint.errorhandler(AsyncError)
def _async_error(err: AsyncError) -> Response:
    if _wants_json():
        return Response(json.dumps({"exceptionCode": err.code, "exceptionMessage": err.message}),
                        status=err.status, content_type=JSON_TYPE)
    body = (f'<?xml version="1.0" encoding="UTF-8"?><error\n   xmlns="{NS}">\n <exceptionCode>{err.code}'
            f'</exceptionCode>\n <exceptionMessage>{escape(err.message)}</exceptionMessage>\n</error>')
    return Response(body, status=err.status, content_type=XML_TYPE)


@blueprint.url_value_preprocessor
def _pop_version(endpoint: str | None, values: dict[str, Any] | None) -> None:
    version = (values or {}).pop("version", "")
    m = re.fullmatch(r"(\d+)\.0", version)
    if m is None or not 20 <= int(m.group(1)) <= MAX_VERSION:
        raise AsyncError("InvalidUrl", f"Unsupported API version: {version}", 404)
    g.async_version = version


@blueprint.before_request
def _auth() -> None:
    try:
        org, _ = authenticate(bearer_token())
    except SfError:
        raise AsyncError("InvalidSessionId", "Invalid session id") from None
    try:
        meter(org)
    except SfError:
        raise AsyncError("ExceededQuota", "TotalRequests Limit exceeded.") from None


def _reply(items: list[tuple[str, Any]], root: str, status: int = 200, location: str | None = None) -> Response:
    headers = {"Location": location} if location else None
    if _wants_json() or request.accept_mimetypes.best == JSON_TYPE:
        return Response(as_json(items), status=status, content_type=JSON_TYPE, headers=headers)
    return Response(xml_doc(root, items), status=status, content_type=XML_TYPE, headers=headers)


def _request_fields() -> dict[str, str]:
    raw = request.get_data(cache=True)
    if _wants_json():
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise AsyncError("InvalidJob", "Unable to parse the JSON job request") from None
        return {k: str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        raise AsyncError("InvalidXML", "Unable to parse the job request XML") from None
    return {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in root}


def _job(job_id: str) -> Bulk1Job:
    job = bulk_state(g.org).jobs.get(job_id)
    if not isinstance(job, Bulk1Job):
        raise AsyncError("InvalidJob", f"Invalid job id: {job_id}")
    return job


@blueprint.post("/job")
def create_job() -> Response:
    fields = _request_fields()
    op, obj_name = fields.get("operation", ""), fields.get("object", "")
    if op not in OPERATIONS:
        raise AsyncError("InvalidJob", f"Invalid operation: {op}")
    obj = g.org.schema.get(obj_name)
    if obj is None:
        raise AsyncError("InvalidJob", f"Unable to find object: {obj_name}")
    ext_id = fields.get("externalIdFieldName") or None
    if op == "upsert":
        f = obj.field(ext_id or "")
        if f is None or not (f.external_id or f.id_lookup):
            raise AsyncError("InvalidJob", f"External ID was blank for {obj.name}. An External ID must be "
                             "specified for upsert." if not ext_id else f"Field name not found : {ext_id}")
        ext_id = f.name
    # simple-salesforce sends 1/0 instead of Serial/Parallel
    concurrency = {"1": "Serial", "0": "Parallel"}.get(fields.get("concurrencyMode", ""),
                                                       fields.get("concurrencyMode") or "Parallel")
    if concurrency not in ("Serial", "Parallel"):
        raise AsyncError("InvalidJob", f"Invalid concurrency mode: {concurrency}")
    content = fields.get("contentType") or "CSV"
    if content not in ("CSV", "JSON", "XML"):
        raise AsyncError("InvalidJob", f"Invalid content type: {content}")
    if content == "XML":
        raise AsyncError("FeatureNotEnabled", "XML batches are not supported by localorg; use CSV or JSON")
    job = Bulk1Job(g.org, op, obj.name, g.session.user_id, g.async_version, content, concurrency,
                   ext_id if op == "upsert" else None)
    state = bulk_state(g.org)
    with state.lock:
        state.jobs[job.id] = job
    return _reply(job.items(), "jobInfo", 201, f"/services/async/{g.async_version}/job/{job.id}")


@blueprint.get("/job/<job_id>")
def job_info(job_id: str) -> Response:
    return _reply(_job(job_id).items(), "jobInfo")


@blueprint.post("/job/<job_id>")
def update_job(job_id: str) -> Response:
    job = _job(job_id)
    target = _request_fields().get("state")
    with job.lock:
        if target not in ("Closed", "Aborted"):
            raise AsyncError("InvalidJobState", f"Invalid state: {target}")
        if job.state != "Open" and not (target == "Aborted" and job.state == "Closed"):
            raise AsyncError("InvalidJobState", f"Job {job.id} is not open: {job.state}")
        job.set_state(target)
    return _reply(job.items(), "jobInfo")


@blueprint.post("/job/<job_id>/batch")
def add_batch(job_id: str) -> Response:
    job = _job(job_id)
    if job.state != "Open":
        raise AsyncError("InvalidJobState", f"Job {job.id} is not open for new batches: {job.state}")
    data = request.get_data(cache=False)
    if job.content_type == "JSON" and not job.is_query:
        try:
            json.loads(data or b"null")
        except ValueError:
            raise AsyncError("InvalidBatch", "Failed to parse the JSON batch") from None
    batch = job.add_batch(data)
    return _reply(batch.created_items, "batchInfo", 201,
                  f"/services/async/{g.async_version}/job/{job.id}/batch/{batch.id}")


@blueprint.get("/job/<job_id>/batch")
def batch_list(job_id: str) -> Response:
    job = _job(job_id)
    batches = list(job.batches.values())
    if _wants_json() or request.accept_mimetypes.best == JSON_TYPE:
        items = [json.loads(as_json(b.items())) for b in batches]
        return Response(json.dumps({"batchInfo": items}), content_type=JSON_TYPE)
    if not batches:
        return Response(f'<?xml version="1.0" encoding="UTF-8"?><batchInfoList\n   xmlns="{NS}" />',
                        content_type=XML_TYPE)
    inner = "".join("\n <batchInfo>" + "".join(f"\n  <{k}>{escape(str(v))}</{k}>" for k, v in b.items())
                    + "\n </batchInfo>" for b in batches)
    return Response(f'<?xml version="1.0" encoding="UTF-8"?><batchInfoList\n   xmlns="{NS}">{inner}\n'
                    "</batchInfoList>", content_type=XML_TYPE)


def _batch(job_id: str, batch_id: str) -> Any:
    batch = _job(job_id).batches.get(batch_id)
    if batch is None:
        raise AsyncError("InvalidBatch", f"Invalid batch id: {batch_id}")
    return batch


@blueprint.get("/job/<job_id>/batch/<batch_id>")
def batch_info(job_id: str, batch_id: str) -> Response:
    return _reply(_batch(job_id, batch_id).items(), "batchInfo")


@blueprint.get("/job/<job_id>/batch/<batch_id>/request")
def batch_request(job_id: str, batch_id: str) -> Response:
    batch = _batch(job_id, batch_id)
    kind = JSON_TYPE if batch.job.content_type == "JSON" else "text/csv"
    return Response(batch.rows.data(), content_type=kind)


@blueprint.get("/job/<job_id>/batch/<batch_id>/result")
def batch_result(job_id: str, batch_id: str) -> Response:
    batch = _batch(job_id, batch_id)
    if batch.state not in ("Completed", "Failed"):
        raise AsyncError("InvalidBatch", "Batch not completed")
    if batch.job.is_query:
        if batch.job.content_type == "JSON":
            return Response(json.dumps([batch.result_id]), content_type=JSON_TYPE)
        return Response(f'<?xml version="1.0" encoding="UTF-8"?><result-list xmlns="{NS}"><result>'
                        f"{batch.result_id}</result></result-list>", content_type=XML_TYPE)
    if batch.job.content_type == "JSON":
        return Response(json.dumps(batch.json_results()), content_type=JSON_TYPE)
    return Response(chunked(batch.csv_results()), content_type="text/csv")


@blueprint.get("/job/<job_id>/batch/<batch_id>/result/<result_id>")
def query_result(job_id: str, batch_id: str, result_id: str) -> Response:
    batch = _batch(job_id, batch_id)
    if not batch.job.is_query or result_id != batch.result_id or batch.query_result is None:
        raise AsyncError("InvalidBatch", f"Invalid result id: {result_id}")
    if isinstance(batch.query_result, list):
        return Response(json.dumps(batch.query_result), content_type=JSON_TYPE)
    return Response(batch.query_result.encode("utf-8"), content_type="text/csv")
