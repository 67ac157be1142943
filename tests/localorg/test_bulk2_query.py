"""Bulk API 2.0 query jobs: simple-salesforce's sf.bulk2.<obj>.query paging, and the raw headers."""

from __future__ import annotations

import csv
import io
import time

import pytest
from simple_salesforce.exceptions import SalesforceOperationError


def headers(org) -> dict[str, str]:
    return {"Authorization": f"Bearer {org.ready_token}", "Content-Type": "application/json"}


def test_query_pages_by_max_records(org, sf):
    acc = sf.Account.create({"Name": "Parent"})["id"]
    for i in range(5):
        sf.Contact.create({"LastName": f"C{i}", "AccountId": acc})
    pages = list(sf.bulk2.Contact.query("SELECT Id, LastName, Account.Name FROM Contact ORDER BY LastName",
                                        max_records=2, wait=0.1))
    assert len(pages) == 3
    assert all(p.startswith('"Id","LastName","Account.Name"\n') for p in pages)
    data = [row for p in pages for row in list(csv.reader(io.StringIO(p)))[1:]]
    assert [(r[1], r[2]) for r in data] == [(f"C{i}", "Parent") for i in range(5)]


def test_query_all_includes_deleted_and_raw_headers(org, sf, sf_session):
    keep = sf.Account.create({"Name": "Keep"})["id"]
    gone = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(gone)
    base = f"{org.instance_url}/services/data/v66.0/jobs/query"
    job = sf_session.post(base, headers=headers(org), json={
        "operation": "queryAll", "query": "SELECT Id, IsDeleted FROM Account", "columnDelimiter": "PIPE",
        "lineEnding": "CRLF"}).json()
    assert job["state"] == "UploadComplete" and job["operation"] == "queryAll" and job["object"] == "Account"
    for _ in range(100):
        info = sf_session.get(f"{base}/{job['id']}", headers=headers(org)).json()
        if info["state"] == "JobComplete":
            break
        time.sleep(0.05)
    assert info["jobType"] == "V2Query" and info["numberRecordsProcessed"] == 2
    first = sf_session.get(f"{base}/{job['id']}/results", params={"maxRecords": 1}, headers=headers(org))
    assert first.headers["Sforce-NumberOfRecords"] == "1"
    assert first.headers["Content-Type"] == "text/csv; charset=UTF-8"
    locator = first.headers["Sforce-Locator"]
    assert locator != "null"
    second = sf_session.get(f"{base}/{job['id']}/results", params={"maxRecords": 1, "locator": locator},
                            headers=headers(org))
    assert second.headers["Sforce-Locator"] == "null"
    assert first.text.startswith('"Id"|"IsDeleted"\r\n')
    values = {first.text.split("\r\n")[1], second.text.split("\r\n")[1]}
    assert values == {f'"{keep}"|"false"', f'"{gone}"|"true"'}


def test_bad_soql_is_rejected_when_the_job_is_created(org, sf_session):
    r = sf_session.post(f"{org.instance_url}/services/data/v66.0/jobs/query", headers=headers(org),
                        json={"operation": "query", "query": "SELECT Nope FROM Account"})
    assert r.status_code == 400
    assert r.json()[0]["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Nope' on entity 'Account'" in r.json()[0]["message"]


def test_forced_failure_knob_fails_query_jobs(org, sf):
    org.knobs.fail_bulk_jobs, org.knobs.fail_bulk_message = True, "InternalServerError : forced"
    with pytest.raises(SalesforceOperationError, match="InternalServerError : forced"):
        list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0.1))


def test_results_are_gzipped_only_when_asked(org, sf, sf_session):
    sf.Account.create({"Name": "Zip"})
    base = f"{org.instance_url}/services/data/v66.0/jobs/query"
    job = sf_session.post(base, headers=headers(org), json={"operation": "query", "query": "SELECT Name FROM Account"})
    for _ in range(100):
        if sf_session.get(f"{base}/{job.json()['id']}", headers=headers(org)).json()["state"] == "JobComplete":
            break
        time.sleep(0.05)
    url = f"{base}/{job.json()['id']}/results"
    zipped = sf_session.get(url, headers=dict(headers(org), **{"Accept-Encoding": "gzip"}))
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.text == '"Name"\n"Zip"\n'
    plain = sf_session.get(url, headers=dict(headers(org), **{"Accept-Encoding": "identity"}))
    assert "Content-Encoding" not in plain.headers and plain.text == '"Name"\n"Zip"\n'
