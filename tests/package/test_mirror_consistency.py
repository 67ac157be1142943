"""What the backend writes into an org (mirror_fields) must exist in force-app with a compatible type."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from backend.salesforce import mirror_fields as mf

from .force_app import SObject, sobjects

NAMESPACES = ["", "inflow"]
SF_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
USER_ID = "005000000000001AAA"

TEXT_TYPES = {"Text", "TextArea", "LongTextArea", "Url", "Email", "Phone", "Picklist"}


def full_job(ns: str) -> dict[str, Any]:
    return mf.job_record(
        job_key="acct-7:job-42",
        name="Nightly contacts",
        target_object="Contact",
        operation="upsert",
        source_type="csv",
        schedule="Every day at 02:00 Europe/Berlin",
        active=True,
        ns=ns,
    )


def full_run(ns: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict(
        run_key="acct-7:run-1001",
        job_key="acct-7:job-42",
        status="partial",
        operation="upsert",
        object_name="Contact",
        api="bulk2",
        started=datetime(2026, 11, 28, 2, 0, 0, 123456, tzinfo=UTC),
        finished=datetime(2026, 11, 28, 2, 3, 10, tzinfo=UTC),
        processed=5000,
        succeeded=4990,
        failed=10,
        error_summary="10 rows: REQUIRED_FIELD_MISSING: LastName",
        results_url="https://eu.inflow.example.com/runs/1001",
        initiated_by=USER_ID,
        ns=ns,
    )
    values.update(overrides)
    return mf.run_record(**values)


def empty_run(ns: str) -> dict[str, Any]:
    """A run as first written: queued, nothing started, nobody's (a scheduled run)."""
    return full_run(
        ns,
        status="queued",
        api=None,
        started=None,
        finished=None,
        processed=0,
        succeeded=0,
        failed=0,
        error_summary=None,
        results_url=None,
        initiated_by=None,
    )


def base(name: str, ns: str) -> str:
    prefix = f"{ns}__" if ns else ""
    if prefix and name.endswith(("__c", "__r")):
        assert name.startswith(prefix), f"{name} should carry the {ns} namespace"
        return name[len(prefix) :]
    assert name.count("__") <= 1, f"{name} carries a namespace although ns is {ns!r}"
    return name


def check_value(obj: SObject, field: str, value: Any) -> None:
    """Fail unless `value` is something Salesforce accepts for `obj.field`."""
    meta = obj.fields[field]
    if value is None:
        assert not meta.required and meta.type != "MasterDetail", f"{obj.name}.{field} is required but None"
        return
    if meta.type == "Checkbox":
        assert isinstance(value, bool), f"{obj.name}.{field}: {value!r}"
    elif meta.type == "Number":
        assert isinstance(value, int) and not isinstance(value, bool), f"{obj.name}.{field}: {value!r}"
        assert meta.scale == 0 and len(str(abs(value))) <= (meta.precision or 18)
    elif meta.type == "DateTime":
        assert isinstance(value, str) and SF_DATETIME.match(value), f"{obj.name}.{field}: {value!r}"
    elif meta.type in ("Lookup", "MasterDetail"):
        assert isinstance(value, str) and re.fullmatch(r"[a-zA-Z0-9]{15}|[a-zA-Z0-9]{18}", value)
    elif meta.type in TEXT_TYPES:
        assert isinstance(value, str), f"{obj.name}.{field}: {value!r}"
        limit = meta.length or 255  # Url and Picklist values are capped at 255 characters
        assert len(value) <= limit, f"{obj.name}.{field} is {len(value)} long, field allows {limit}"
        if meta.type == "Picklist" and meta.restricted:
            assert value in meta.values, f"{value!r} is not a value of restricted picklist {obj.name}.{field}"
    else:
        pytest.fail(f"{obj.name}.{field} has type {meta.type}, which the mirror does not know how to write")


def check_relationship(obj: SObject, rel: str, value: Any, ns: str) -> str:
    """The __r key must name a lookup/master-detail whose parent is matched by a unique external id."""
    field = rel[: -len("__r")] + "__c"
    assert field in obj.fields, f"{obj.name}.{rel}: no field {field}"
    meta = obj.fields[field]
    assert meta.type in ("Lookup", "MasterDetail"), f"{obj.name}.{field} is {meta.type}"
    parent = sobjects()[meta.reference_to]
    assert isinstance(value, dict) and len(value) == 1, value
    ((key, key_value),) = value.items()
    parent_field = parent.fields[base(key, ns)]
    assert parent_field.external_id and parent_field.unique, f"{parent.name}.{parent_field.name}: not a unique ext id"
    check_value(parent, parent_field.name, key_value)
    return field


def check_record(object_base: str, record: dict[str, Any], ns: str) -> set[str]:
    """Check every key of `record`; return the field names it sets."""
    obj = sobjects()[object_base]
    written = set()
    for key, value in record.items():
        name = base(key, ns)
        if name.endswith("__r"):
            written.add(check_relationship(obj, name, value, ns))
            continue
        assert name in obj.fields, f"{obj.name} has no field {name} (the backend writes {key})"
        check_value(obj, name, value)
        written.add(name)
    return written


@pytest.mark.parametrize("ns", NAMESPACES)
def test_job_record_matches_import_job_metadata(ns: str) -> None:
    written = check_record(mf.JOB_OBJECT, full_job(ns), ns)
    assert sobjects()[mf.JOB_OBJECT].required() <= written


@pytest.mark.parametrize("ns", NAMESPACES)
@pytest.mark.parametrize("make", [full_run, empty_run], ids=["finished", "queued"])
def test_run_record_matches_import_run_metadata(ns: str, make: Any) -> None:
    written = check_record(mf.RUN_OBJECT, make(ns), ns)
    assert sobjects()[mf.RUN_OBJECT].required() <= written
    assert mf.RUN_JOB_FIELD in written, "the run must name its job so one upsert creates it"


@pytest.mark.parametrize("status", mf.RUN_STATUSES)
def test_every_run_status_is_accepted_by_the_org(status: str) -> None:
    check_record(mf.RUN_OBJECT, full_run("inflow", status=status), "inflow")


def test_status_picklist_is_restricted_to_the_backend_states() -> None:
    status = sobjects()[mf.RUN_OBJECT].fields["Status__c"]
    assert status.restricted
    assert set(status.values) == set(mf.RUN_STATUSES)


def test_unknown_status_is_refused_before_it_reaches_the_org() -> None:
    with pytest.raises(ValueError, match="cancelling"):
        full_run("", status="cancelling")


def test_text_limits_are_the_metadata_lengths() -> None:
    for object_base, lengths in mf.TEXT_LENGTHS.items():
        fields = sobjects()[object_base].fields
        for name, length in lengths.items():
            declared = fields[name].length or 255
            assert declared == length, f"{object_base}.{name}: metadata says {declared}, mirror_fields {length}"


def test_every_written_text_field_has_a_limit() -> None:
    for object_base, record in ((mf.JOB_OBJECT, full_job("")), (mf.RUN_OBJECT, full_run(""))):
        fields = sobjects()[object_base].fields
        for key in record:
            if key in fields and fields[key].type in TEXT_TYPES - {"Picklist"}:
                assert key in mf.TEXT_LENGTHS[object_base], f"{object_base}.{key} has no truncation limit"


def test_keys_are_unique_external_ids() -> None:
    for object_base, key in ((mf.JOB_OBJECT, mf.JOB_KEY_FIELD), (mf.RUN_OBJECT, mf.RUN_KEY_FIELD)):
        meta = sobjects()[object_base].fields[key]
        assert meta.external_id and meta.unique and meta.required


def test_run_parent_is_set_by_the_jobs_external_id() -> None:
    record = full_run("inflow")
    assert record["inflow__Import_Job__r"] == {"inflow__Job_Key__c": "acct-7:job-42"}
    assert "inflow__Import_Job__c" not in record
    assert full_run("")["Import_Job__r"] == {"Job_Key__c": "acct-7:job-42"}


def test_namespacing_leaves_standard_fields_alone() -> None:
    assert mf.object_name("Import_Run__c", "inflow") == "inflow__Import_Run__c"
    assert mf.object_name("Import_Run__c", "") == "Import_Run__c"
    assert mf.field_name("Status__c", "inflow") == "inflow__Status__c"
    assert mf.field_name("inflow__Status__c", "inflow") == "inflow__Status__c"
    assert mf.field_name("Name", "inflow") == "Name"
    job = full_job("inflow")
    assert job["Name"] == "Nightly contacts"
    assert job["inflow__Job_Key__c"] == "acct-7:job-42"
    assert job["inflow__Active__c"] is True


def test_datetimes_are_utc_with_milliseconds() -> None:
    berlin = timezone(timedelta(hours=1))
    record = full_run(
        "",
        started=datetime(2026, 11, 28, 3, 0, 0, 987654, tzinfo=berlin),
        finished=datetime(2026, 11, 28, 2, 5, 0),  # naive: the backend stores UTC
    )
    assert record["Started__c"] == "2026-11-28T02:00:00.987Z"
    assert record["Finished__c"] == "2026-11-28T02:05:00.000Z"


def test_long_error_summary_is_cut_to_the_field_length() -> None:
    summary = "row 1: FIELD_CUSTOM_VALIDATION_EXCEPTION " * 2000
    record = full_run("inflow", error_summary=summary)
    value = record["inflow__Error_Summary__c"]
    assert len(value) == sobjects()[mf.RUN_OBJECT].fields["Error_Summary__c"].length
    assert value.startswith("row 1: FIELD_CUSTOM_VALIDATION_EXCEPTION")
    assert value.endswith("…")
    assert full_run("", error_summary="short")["Error_Summary__c"] == "short"


def test_long_names_are_cut_not_rejected() -> None:
    job = mf.job_record(
        job_key="k",
        name="x" * 500,
        target_object="Contact",
        operation="insert",
        source_type="csv",
        schedule="y" * 999,
        active=False,
        ns="",
    )
    assert len(job["Name"]) == 80 and len(job["Schedule__c"]) == 255
    check_record(mf.JOB_OBJECT, job, "")


def test_keys_are_required_arguments() -> None:
    with pytest.raises(ValueError):
        full_run("", run_key="")
    with pytest.raises(ValueError):
        mf.job_record(
            job_key="",
            name="n",
            target_object="Contact",
            operation="insert",
            source_type="csv",
            schedule=None,
            active=True,
            ns="",
        )
