"""The one definition of the Import_Job__c / Import_Run__c records Inflow upserts into an org."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# Objects and fields below are the package's (force-app/main/default/objects); tests/package checks
# every name, type and length here against that metadata, so change both together.
JOB_OBJECT = "Import_Job__c"
RUN_OBJECT = "Import_Run__c"
JOB_KEY_FIELD = "Job_Key__c"
RUN_KEY_FIELD = "Run_Key__c"
RUN_JOB_FIELD = "Import_Job__c"

# Import_Run__c.Status__c is a restricted picklist: the org rejects any other value.
RUN_STATUSES = (
    "queued",
    "running",
    "succeeded",
    "partial",
    "failed",
    "cancelled",
    "rolling_back",
    "rolled_back",
)

# Text lengths as declared in the package; longer values would fail the whole upsert
# (STRING_TOO_LONG), so they are cut here. Error_Summary__c is a LongTextArea. Picklists
# (Operation__c, API__c, Status__c) are not cut: a shortened value would be a wrong one.
TEXT_LENGTHS: dict[str, dict[str, int]] = {
    JOB_OBJECT: {
        "Name": 80,
        "Job_Key__c": 80,
        "Target_Object__c": 80,
        "Source_Type__c": 40,
        "Schedule__c": 255,
    },
    RUN_OBJECT: {
        "Run_Key__c": 80,
        "Object__c": 80,
        "Error_Summary__c": 32768,
        "Results_URL__c": 255,
    },
}
ERROR_SUMMARY_MAX = TEXT_LENGTHS[RUN_OBJECT]["Error_Summary__c"]
_ELLIPSIS = "…"


def object_name(base: str, ns: str) -> str:
    """API name of a package object in an org whose namespace prefix is `ns` ("" when none)."""
    return _namespaced(base, ns)


def field_name(base: str, ns: str) -> str:
    """API name of a package field or relationship; standard fields (Name, Id) are never prefixed."""
    return _namespaced(base, ns)


def _namespaced(base: str, ns: str) -> str:
    if not ns or not base.endswith(("__c", "__r")):
        return base
    if base.startswith(f"{ns}__"):
        return base
    return f"{ns}__{base}"


def sf_datetime(value: datetime | None) -> str | None:
    """Salesforce's dateTime wire format: ISO 8601 in UTC with milliseconds and Z.

    A naive datetime is taken to be UTC already, which is how the backend stores times.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def truncate(text: str | None, limit: int) -> str | None:
    """Cut `text` to at most `limit` characters, marking the cut with an ellipsis."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - len(_ELLIPSIS)] + _ELLIPSIS


def _fields(obj: str, values: Mapping[str, Any], ns: str) -> dict[str, Any]:
    lengths = TEXT_LENGTHS[obj]
    record: dict[str, Any] = {}
    for base, value in values.items():
        if base in lengths and isinstance(value, str):
            value = truncate(value, lengths[base])
        record[field_name(base, ns)] = value
    return record


def job_record(
    *,
    job_key: str,
    name: str,
    target_object: str,
    operation: str,
    source_type: str,
    schedule: str | None,
    active: bool,
    ns: str,
) -> dict[str, Any]:
    """Fields for upserting an Import_Job__c by its Job_Key__c."""
    if not job_key:
        raise ValueError("job_key is required: it is the external id the upsert matches on")
    return _fields(
        JOB_OBJECT,
        {
            "Name": name or job_key,
            JOB_KEY_FIELD: job_key,
            "Target_Object__c": target_object,
            "Operation__c": operation,
            "Source_Type__c": source_type,
            "Schedule__c": schedule,
            "Active__c": bool(active),
        },
        ns,
    )


def run_record(
    *,
    run_key: str,
    job_key: str,
    status: str,
    operation: str,
    object_name: str,
    api: str | None,
    started: datetime | None,
    finished: datetime | None,
    processed: int,
    succeeded: int,
    failed: int,
    error_summary: str | None,
    results_url: str | None,
    initiated_by: str | None,
    ns: str,
) -> dict[str, Any]:
    """Fields for upserting an Import_Run__c by its Run_Key__c.

    The master-detail parent is set through its relationship and the job's external id, so one
    upsert works without first looking up the parent's record Id.
    """
    if not run_key or not job_key:
        raise ValueError("run_key and job_key are required")
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}; Status__c accepts {', '.join(RUN_STATUSES)}")
    parent = {field_name(JOB_KEY_FIELD, ns): job_key}
    record = _fields(
        RUN_OBJECT,
        {
            RUN_KEY_FIELD: run_key,
            "Status__c": status,
            "Operation__c": operation,
            "Object__c": object_name,
            "API__c": api,
            "Started__c": sf_datetime(started),
            "Finished__c": sf_datetime(finished),
            "Records_Processed__c": int(processed),
            "Records_Succeeded__c": int(succeeded),
            "Records_Failed__c": int(failed),
            "Error_Summary__c": error_summary,
            "Results_URL__c": results_url,
            "Initiated_By__c": initiated_by,
        },
        ns,
    )
    record[field_name("Import_Job__r", ns)] = parent
    return record
