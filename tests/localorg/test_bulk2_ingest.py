"""Bulk API 2.0 ingest through simple-salesforce's sf.bulk2 and raw requests, over HTTPS."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from simple_salesforce.exceptions import SalesforceOperationError

from sfdx.localorg.fieldkit import text

V = "/services/data/v66.0/jobs/ingest"


@pytest.fixture
def ext_org(org):
    org.define_object("Account", fields=[text("External_Id__c", 255, "External Id", external_id=True,
                                              unique=True, custom=True)])
    return org


@pytest.fixture
def write_csv(tmp_path):
    def write(content: str, newline: str = "\n") -> str:
        path = tmp_path / f"data{len(list(tmp_path.iterdir()))}.csv"
        path.write_bytes(content.replace("\n", newline).encode("utf-8"))
        return str(path)
    return write


def rows(text_: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text_), delimiter=delimiter))


def headers(org) -> dict[str, str]:
    return {"Authorization": f"Bearer {org.ready_token}", "Content-Type": "application/json"}


def wait_done(sf_session, org, job_id: str, kind: str = "ingest") -> dict:
    for _ in range(200):
        info = sf_session.get(f"{org.instance_url}/services/data/v66.0/jobs/{kind}/{job_id}",
                              headers=headers(org)).json()
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_insert_then_successful_results_in_salesforce_format(ext_org, sf, write_csv):
    path = write_csv('Name,External_Id__c,Description\nAcme,A1,"said ""hi"""\nGlobex,A2,\n')
    [res] = sf.bulk2.Account.insert(csv_file=path, wait=0.1)
    assert res["numberRecordsProcessed"] == 2 and res["numberRecordsFailed"] == 0
    out = sf.bulk2.Account.get_successful_records(res["job_id"])
    lines = out.splitlines()
    assert lines[0] == '"sf__Id","sf__Created",Name,External_Id__c,Description'
    assert lines[1].endswith(',"true","Acme","A1","said ""hi"""')
    parsed = rows(out)
    ids = [r[0] for r in parsed[1:]]
    assert all(i.startswith("001") and len(i) == 18 for i in ids)
    names = {r["Id"]: r["Name"] for r in sf.query("SELECT Id, Name FROM Account")["records"]}
    assert names == {ids[0]: "Acme", ids[1]: "Globex"}
    failed = sf.bulk2.Account.get_failed_records(res["job_id"])
    assert failed == '"sf__Id","sf__Error",Name,External_Id__c,Description\n'


def test_lookup_by_parent_external_id_and_row_failures(ext_org, sf, write_csv):
    acc = sf.Account.create({"Name": "Acme", "External_Id__c": "A1"})["id"]
    path = write_csv("LastName,Account.External_Id__c,Email\nSmith,A1,s@x.com\nJones,NOPE,j@x.com\n,A1,x@x.com\n")
    [res] = sf.bulk2.Contact.insert(csv_file=path, wait=0.1)
    assert (res["numberRecordsProcessed"], res["numberRecordsFailed"]) == (3, 2)
    ok = rows(sf.bulk2.Contact.get_successful_records(res["job_id"]))
    assert ok[1][1:] == ["true", "Smith", "A1", "s@x.com"]
    assert sf.Contact.get(ok[1][0])["AccountId"] == acc
    failed = sf.bulk2.Contact.get_failed_records(res["job_id"]).splitlines()
    assert failed == [
        '"sf__Id","sf__Error",LastName,Account.External_Id__c,Email',
        '"","INVALID_FIELD:Foreign key external ID: NOPE not found for field External_Id__c in entity Account:--",'
        '"Jones","NOPE","j@x.com"',
        '"","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --","","A1","x@x.com"',
    ]
    assert sf.bulk2.Contact.get_unprocessed_records(res["job_id"]) == "LastName,Account.External_Id__c,Email\n"


def test_polymorphic_relationship_column(org, sf, write_csv):
    sf.Lead.create({"LastName": "Lee", "Company": "Lee Co", "Email": "lee@x.com"})
    path = write_csv("Subject,Lead:Who.Email\nCall,lee@x.com\n")
    [res] = sf.bulk2.Task.insert(csv_file=path, wait=0.1)
    assert res["numberRecordsFailed"] == 0
    task = sf.query("SELECT Who.Email FROM Task")["records"][0]
    assert task["Who"]["Email"] == "lee@x.com"


def test_upsert_by_external_id_reports_created_flags(ext_org, sf, write_csv):
    sf.Account.create({"Name": "Old", "External_Id__c": "A1"})
    path = write_csv("External_Id__c,Name\nA1,Renamed\nA2,New\n")
    [res] = sf.bulk2.Account.upsert(csv_file=path, external_id_field="External_Id__c", wait=0.1)
    out = rows(sf.bulk2.Account.get_successful_records(res["job_id"]))
    assert [(r[1], r[2]) for r in out[1:]] == [("false", "A1"), ("true", "A2")]
    names = sorted(r["Name"] for r in sf.query("SELECT Name FROM Account")["records"])
    assert names == ["New", "Renamed"]


def test_update_ignores_blank_cells_and_nulls_na(org, sf, write_csv):
    cid = sf.Contact.create({"LastName": "Smith", "Title": "CEO", "Department": "Sales"})["id"]
    path = write_csv(f"Id,Title,Department\n{cid},,#N/A\n")
    [res] = sf.bulk2.Contact.update(csv_file=path, wait=0.1)
    assert res["numberRecordsFailed"] == 0
    rec = sf.Contact.get(cid)
    assert rec["Title"] == "CEO" and rec["Department"] is None
    assert rows(sf.bulk2.Contact.get_successful_records(res["job_id"]))[1][:2] == [cid, "false"]


def test_delete_and_hard_delete(org, sf, write_csv):
    a = sf.Account.create({"Name": "A"})["id"]
    b = sf.Account.create({"Name": "B"})["id"]
    [res] = sf.bulk2.Account.delete(csv_file=write_csv(f"Id\n{a}\n"), wait=0.1)
    assert res["numberRecordsFailed"] == 0
    [res] = sf.bulk2.Account.hard_delete(csv_file=write_csv(f"Id\n{b}\n"), wait=0.1)
    assert res["numberRecordsFailed"] == 0
    everything = sf.query_all("SELECT Id, IsDeleted FROM Account", include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in everything] == [(a, True)]


@pytest.mark.parametrize(("delimiter", "char", "line_ending", "newline"), [
    ("COMMA", ",", "CRLF", "\r\n"), ("TAB", "\t", "LF", "\n"), ("SEMICOLON", ";", "CRLF", "\r\n"),
    ("PIPE", "|", "LF", "\n"), ("CARET", "^", "CRLF", "\r\n"), ("BACKQUOTE", "`", "LF", "\n")])
def test_every_column_delimiter_and_line_ending(org, sf, write_csv, delimiter, char, line_ending, newline):
    path = write_csv(f"Name{char}Description\nAcme{char}\"a{char}b\"\n", newline)
    [res] = sf.bulk2.Account.insert(csv_file=path, column_delimiter=delimiter, line_ending=line_ending, wait=0.1)
    assert res["numberRecordsFailed"] == 0
    out = sf.bulk2.Account.get_successful_records(res["job_id"])
    assert out.endswith(f'{char}"true"{char}"Acme"{char}"a{char}b"{newline}')
    assert sf.query("SELECT Description FROM Account")["records"][0]["Description"] == f"a{char}b"


def test_second_upload_is_rejected(org, sf_session):
    job = sf_session.post(org.instance_url + V, headers=headers(org),
                          json={"object": "Account", "operation": "insert"}).json()
    assert job["state"] == "Open" and job["contentUrl"] == f"services/data/v66.0/jobs/ingest/{job['id']}/batches"
    url = f"{org.instance_url}{V}/{job['id']}/batches"
    csv_headers = dict(headers(org), **{"Content-Type": "text/csv"})
    assert sf_session.put(url, data=b"Name\nA\n", headers=csv_headers).status_code == 201
    second = sf_session.put(url, data=b"Name\nB\n", headers=csv_headers)
    assert second.status_code == 400
    assert second.json()[0]["errorCode"] == "INVALIDJOB"
    assert second.json()[0]["message"].startswith(f"Found multipe contents for job: <{job['id'][:15]}>")


def test_unknown_column_fails_the_job(org, sf, write_csv):
    with pytest.raises(SalesforceOperationError, match="InvalidBatch : Field name not found : Nope__c"):
        sf.bulk2.Account.insert(csv_file=write_csv("Name,Nope__c\nA,b\n"), wait=0.1)


def test_forced_failure_knob(org, sf, sf_session, write_csv):
    org.knobs.fail_bulk_jobs = True
    with pytest.raises(SalesforceOperationError, match="forced failure"):
        sf.bulk2.Account.insert(csv_file=write_csv("Name\nA\n"), wait=0.1)
    jobs = sf_session.get(org.instance_url + V, headers=headers(org)).json()
    info = sf_session.get(f"{org.instance_url}{V}/{jobs['records'][0]['id']}", headers=headers(org)).json()
    assert info["state"] == "Failed" and info["errorMessage"] == org.knobs.fail_bulk_message
    assert info["numberRecordsProcessed"] == 0


def test_job_lifecycle_abort_delete_and_list(org, sf_session):
    h = headers(org)
    job = sf_session.post(org.instance_url + V, headers=h, json={"object": "Account", "operation": "insert"}).json()
    url = f"{org.instance_url}{V}/{job['id']}"
    aborted = sf_session.patch(url, headers=h, json={"state": "Aborted"})
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    again = sf_session.patch(url, headers=h, json={"state": "Aborted"})
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    listed = sf_session.get(org.instance_url + V, headers=h).json()
    assert listed["done"] is True and [r["id"] for r in listed["records"]] == [job["id"]]
    assert listed["records"][0]["jobType"] == "V2Ingest"
    assert sf_session.delete(url, headers=h).status_code == 204
    gone = sf_session.get(url, headers=h)
    assert gone.status_code == 404
    assert gone.json() == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


def test_job_info_counters_and_unprocessed_path_any_case(org, sf_session):
    h = headers(org)
    job = sf_session.post(org.instance_url + V, headers=h, json={"object": "Account", "operation": "insert",
                                                                "lineEnding": "LF"}).json()
    url = f"{org.instance_url}{V}/{job['id']}"
    sf_session.put(url + "/batches", data=b"Name\nA\nB\n", headers=dict(h, **{"Content-Type": "text/csv"}))
    sf_session.patch(url, headers=h, json={"state": "UploadComplete"})
    info = wait_done(sf_session, org, job["id"])
    assert info["state"] == "JobComplete" and info["jobType"] == "V2Ingest" and info["apiVersion"] == 66.0
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"], info["retries"]) == (2, 0, 0)
    assert "contentUrl" not in info and isinstance(info["totalProcessingTime"], int)
    for path in ("unprocessedrecords", "unprocessedRecords"):
        r = sf_session.get(f"{url}/{path}", headers=h)
        assert r.status_code == 200 and r.text == "Name\n"
        assert r.headers["Content-Type"] == "text/csv; charset=UTF-8"


def test_bulk2_needs_v41_and_a_valid_session(org, sf_session):
    old = sf_session.get(org.instance_url + "/services/data/v40.0/jobs/ingest", headers=headers(org))
    assert old.status_code == 404
    bad = sf_session.get(org.instance_url + V, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_multipart_create_uploads_and_closes_in_one_request(org, sf_session):
    job = {"object": "Contact", "contentType": "CSV", "operation": "insert", "lineEnding": "LF"}
    r = sf_session.post(org.instance_url + V, headers={"Authorization": f"Bearer {org.ready_token}"}, files={
        "job": (None, json.dumps(job), "application/json"),
        "content": ("content", b"FirstName,LastName\nAstro,Nomical\nHootie,McOwl\n", "text/csv")})
    assert r.status_code == 200 and r.json()["state"] == "UploadComplete" and "contentUrl" not in r.json()
    info = wait_done(sf_session, org, r.json()["id"])
    assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 2)


def test_records_split_into_parallel_jobs(org, sf):
    records = [{"Name": f"Acc {i}", "NumberOfEmployees": str(i)} for i in range(5)]
    results = sf.bulk2.Account.insert(records=records, batch_size=2, concurrency=3, wait=0.1)
    assert sorted(r["numberRecordsProcessed"] for r in results) == [1, 2, 2]
    assert len({r["job_id"] for r in results}) == 3 and all(r["numberRecordsFailed"] == 0 for r in results)
    rows = sf.query("SELECT Name, NumberOfEmployees FROM Account ORDER BY Name")["records"]
    assert [(r["Name"], r["NumberOfEmployees"]) for r in rows] == [(f"Acc {i}", i) for i in range(5)]


@pytest.mark.parametrize(("body", "code", "text"), [
    ({"object": "Account", "operation": "merge"}, "INVALIDJOB", "Invalid operation: merge"),
    ({"object": "Nope__c", "operation": "insert"}, "INVALIDJOB", "sObject type 'Nope__c' is not supported."),
    ({"object": "Account", "operation": "insert", "columnDelimiter": "COLON"}, "INVALIDJOB",
     "Invalid column delimiter: COLON"),
    ({"object": "Account", "operation": "upsert"}, "INVALIDJOB", "An External ID must be specified for upsert."),
    ({"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"}, "NOT_FOUND",
     "Provided external ID field does not exist or is not accessible: Name"),
])
def test_create_job_errors(org, sf_session, body, code, text):
    r = sf_session.post(org.instance_url + V, headers=headers(org), json=body)
    assert r.status_code in (400, 404)
    [err] = r.json()
    assert err["errorCode"] == code and err["message"].endswith(text)


def test_close_twice_and_upload_after_close_are_rejected(org, sf_session):
    h = headers(org)
    job = sf_session.post(org.instance_url + V, headers=h, json={"object": "Account", "operation": "insert"}).json()
    url = f"{org.instance_url}{V}/{job['id']}"
    sf_session.put(url + "/batches", data=b"Name\nA\n", headers=dict(h, **{"Content-Type": "text/csv"}))
    closed = sf_session.patch(url, headers=h, json={"state": "UploadComplete"})
    assert closed.status_code == 200 and closed.json()["state"] == "UploadComplete"
    wait_done(sf_session, org, job["id"])
    again = sf_session.patch(url, headers=h, json={"state": "UploadComplete"})
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    late = sf_session.put(url + "/batches", data=b"Name\nB\n", headers=dict(h, **{"Content-Type": "text/csv"}))
    assert late.status_code == 400 and late.json()[0]["errorCode"] == "INVALIDJOBSTATE"


def test_parent_by_a_field_that_is_not_a_key_fails_the_row(org, sf, write_csv):
    sf.Account.create({"Name": "Acme"})
    [res] = sf.bulk2.Contact.insert(csv_file=write_csv("LastName,Account.Name\nSmith,Acme\n"), wait=0.1)
    failed = rows(sf.bulk2.Contact.get_failed_records(res["job_id"]))
    assert failed[1] == ["", "INVALID_FIELD:Field name provided, Name is not an External ID or indexed field for "
                             "Account:--", "Smith", "Acme"]
