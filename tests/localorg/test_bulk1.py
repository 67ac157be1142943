"""Bulk API 1.0 through salesforce-bulk 2.2.0 (XML jobs, CSV batches) and simple-salesforce's sf.bulk (JSON)."""

from __future__ import annotations

import time

import pytest
import requests
from salesforce_bulk import SalesforceBulk
from salesforce_bulk.salesforce_bulk import BulkApiError, BulkBatchFailed

from sfdx.localorg.fieldkit import text

NS = "http://www.force.com/2009/06/asyncapi/dataload"


@pytest.fixture
def bulk(org, localorg):
    # salesforce-bulk calls module-level requests: it verifies with REQUESTS_CA_BUNDLE, set by `localorg`
    return SalesforceBulk(sessionId=org.ready_token, host=org.instance_url, API_version="40.0")


def wait(bulk, job, batch):
    for _ in range(200):
        if bulk.is_batch_done(batch, job):
            return
        time.sleep(0.05)
    raise AssertionError("batch did not finish")


def test_serial_insert_and_csv_results(bulk, sf):
    job = bulk.create_insert_job("Account", contentType="CSV", concurrency="Serial")
    batch = bulk.post_batch(job, "Name,NumberOfEmployees\nAcme,10\n,5\n")
    bulk.close_job(job)
    wait(bulk, job, batch)
    ok, bad = bulk.get_batch_results(batch, job)
    assert ok.id.startswith("001") and (ok.success, ok.created, ok.error) == ("true", "true", "")
    assert (bad.id, bad.success, bad.created) == ("", "false", "false")
    assert bad.error == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    assert sf.Account.get(ok.id)["NumberOfEmployees"] == 10
    status = bulk.job_status(job)
    assert (status["state"], status["concurrencyMode"], status["numberBatchesCompleted"]) == ("Closed", "Serial", "1")
    assert (status["numberRecordsProcessed"], status["numberRecordsFailed"]) == ("2", "1")
    [listed] = bulk.get_batch_list(job)
    assert listed["id"] == batch and listed["state"] == "Completed"


def test_upsert_by_external_id_and_update(org, bulk, sf):
    org.define_object("Account", fields=[text("External_Id__c", 255, "External Id", external_id=True,
                                              unique=True, custom=True)])
    existing = sf.Account.create({"Name": "Old", "External_Id__c": "A1"})["id"]
    job = bulk.create_upsert_job("Account", "External_Id__c", contentType="CSV")
    batch = bulk.post_batch(job, "External_Id__c,Name\nA1,Renamed\nA2,New\n")
    wait(bulk, job, batch)
    first, second = bulk.get_batch_results(batch, job)
    assert (first.id, first.created) == (existing, "false") and second.created == "true"
    job = bulk.create_update_job("Account", contentType="CSV")
    batch = bulk.post_batch(job, f"Id,Name\n{existing},Updated\n")
    wait(bulk, job, batch)
    [res] = bulk.get_batch_results(batch, job)
    assert (res.success, res.created) == ("true", "false")
    assert sf.Account.get(existing)["Name"] == "Updated"


def test_wire_format_of_job_batch_and_result(org, localorg):
    s = requests.Session()
    s.verify, s.trust_env = str(localorg.ca_path), False
    h = {"X-SFDC-Session": org.ready_token, "Content-Type": "application/xml; charset=UTF-8"}
    base = org.instance_url + "/services/async/37.0"
    created = s.post(base + "/job", headers=h, data=(
        f'<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="{NS}"><operation>insert</operation>'
        "<object>Contact</object><contentType>CSV</contentType></jobInfo>"))
    assert created.status_code == 201 and created.headers["Content-Type"] == "application/xml"
    assert created.text.startswith(f'<?xml version="1.0" encoding="UTF-8"?><jobInfo\n   xmlns="{NS}">\n <id>750')
    job_id = created.text.split("<id>")[1].split("</id>")[0]
    assert created.headers["Location"] == f"/services/async/37.0/job/{job_id}"
    tags = [line.split(">")[0].lstrip(" <") for line in created.text.splitlines()[2:-1]]
    assert tags[:10] == ["id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
                         "concurrencyMode", "contentType", "numberBatchesQueued"]
    assert "<state>Open</state>" in created.text and "<apiVersion>37.0</apiVersion>" in created.text
    empty = s.get(f"{base}/job/{job_id}/batch", headers=h)
    assert empty.text == f'<?xml version="1.0" encoding="UTF-8"?><batchInfoList\n   xmlns="{NS}" />'
    batch = s.post(f"{base}/job/{job_id}/batch", headers=dict(h, **{"Content-Type": "text/csv; charset=UTF-8"}),
                   data="LastName\nSmith\n")
    assert batch.status_code == 201 and "<state>Queued</state>" in batch.text
    batch_id = batch.text.split("<id>")[1].split("</id>")[0]
    for _ in range(100):
        if "<state>Completed</state>" in s.get(f"{base}/job/{job_id}/batch/{batch_id}", headers=h).text:
            break
        time.sleep(0.05)
    result = s.get(f"{base}/job/{job_id}/batch/{batch_id}/result", headers=h)
    assert result.headers["Content-Type"] == "text/csv"
    lines = result.text.splitlines()
    assert lines[0] == '"Id","Success","Created","Error"'
    assert lines[1].endswith('","true","true",""') and lines[1].startswith('"003')
    closed = s.post(f"{base}/job/{job_id}", headers=h,
                    data=f'<jobInfo xmlns="{NS}"><state>Closed</state></jobInfo>')
    assert "<state>Closed</state>" in closed.text
    late = s.post(f"{base}/job/{job_id}/batch", headers=dict(h, **{"Content-Type": "text/csv"}), data="LastName\nX\n")
    assert late.status_code == 400 and "<exceptionCode>InvalidJobState</exceptionCode>" in late.text


def test_invalid_session_is_400_xml(org, localorg):
    r = requests.get(org.instance_url + "/services/async/40.0/job/750000000000000AAA",
                     headers={"X-SFDC-Session": "00Dbogus!token"}, verify=str(localorg.ca_path))
    assert r.status_code == 400 and r.headers["Content-Type"] == "application/xml"
    assert r.text == (f'<?xml version="1.0" encoding="UTF-8"?><error\n   xmlns="{NS}">\n'
                      " <exceptionCode>InvalidSessionId</exceptionCode>\n"
                      " <exceptionMessage>Invalid session id</exceptionMessage>\n</error>")
    bulk = SalesforceBulk(sessionId="00Dbogus!token", host=org.instance_url, API_version="40.0")
    with pytest.raises(BulkApiError) as exc:
        bulk.create_insert_job("Account", contentType="CSV")
    assert exc.value.status_code == 400


def test_unknown_column_fails_the_batch(bulk):
    job = bulk.create_insert_job("Account", contentType="CSV")
    batch = bulk.post_batch(job, "Name,Bogus__c\nA,1\n")
    with pytest.raises(BulkBatchFailed, match="InvalidBatch : Field name not found : Bogus__c"):
        wait(bulk, job, batch)


def test_query_job_csv_results(bulk, sf):
    sf.Account.create({"Name": "Acme"})
    job = bulk.create_query_job("Account", contentType="CSV")
    batch = bulk.query(job, "SELECT Id, Name FROM Account")
    bulk.close_job(job)
    wait(bulk, job, batch)
    [result] = list(bulk.get_all_results_for_query_batch(batch, job))
    lines = result.read().decode().splitlines()
    assert lines[0] == '"Id","Name"' and lines[1].endswith(',"Acme"')


def test_simple_salesforce_bulk_json_serial_insert(sf):
    results = sf.bulk.Contact.insert([{"LastName": "A"}, {"FirstName": "NoLast"}], use_serial=True)
    assert results[0]["success"] is True and results[0]["created"] is True and results[0]["id"].startswith("003")
    assert results[1] == {"success": False, "created": False, "id": None, "errors": [
        {"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName]",
         "fields": ["LastName"]}]}


def test_simple_salesforce_bulk_json_query_and_upsert(org, sf):
    org.define_object("Account", fields=[text("External_Id__c", 255, "External Id", external_id=True,
                                              unique=True, custom=True)])
    results = sf.bulk.Account.upsert([{"External_Id__c": "A1", "Name": "One"}], "External_Id__c", use_serial=True)
    assert results[0]["success"] is True and results[0]["created"] is True
    rows = sf.bulk.Account.query("SELECT Id, Name, External_Id__c FROM Account", wait=0.1)
    assert [(r["Name"], r["External_Id__c"]) for r in rows] == [("One", "A1")]
    assert rows[0]["attributes"]["type"] == "Account" and rows[0]["Id"] == results[0]["id"]
