"""A first real job, over HTTP against localorg: an error file (CSV or Excel) fixed and imported again writes
exactly the original values; downloads carry the job and object names; upserts say created and updated; a run
in which every row failed is Failed."""

from __future__ import annotations

import io

import openpyxl
import pytest
from simple_salesforce import Salesforce

from backend.runs import execute
from sfdx.localorg.pytest_plugin import localorg, make_org, sf_session  # noqa: F401
from tests.web.test_runs_api import app_config, pkg_org, session  # noqa: F401

PHONE = "+1 (555) 863-6593"
CSV = ("First Name,Last Name,Phone,Account Name\n"
       f"Ada,Lovelace,{PHONE},Analytical Engines\n"
       "Grace,Hopper,=1+2,Nowhere Inc\n"
       f"Alan,Turing,{PHONE},Nowhere Inc\n").encode()
FIELDS = [{"field": "FirstName", "column": "First Name"}, {"field": "LastName", "column": "Last Name"},
          {"field": "Phone", "column": "Phone"}, {"field": "AccountId", "column": "Account Name"}]
LOOKUPS = [{"field": "AccountId", "parent_object": "Account", "match_field": "Name"}]


@pytest.fixture
def sf(pkg_org, sf_session):  # noqa: F811
    return Salesforce(instance_url=pkg_org.instance_url, session_id=pkg_org.ready_token, session=sf_session)


def _upload(client, headers, data: bytes, name: str) -> dict:
    answer = client.post("/api/sources/upload", headers=headers, data={"file": (io.BytesIO(data), name)},
                         content_type="multipart/form-data").get_json()
    assert "error" not in answer, answer
    return answer


def _run(client, headers, source: dict, name: str, mapping: dict) -> dict:
    html = client.get("/ui/wizard", headers=headers).get_data(as_text=True)
    org_id = html.split('<option value="', 1)[1].split('"', 1)[0]
    job = client.post("/api/jobs", headers=headers, json={
        "name": name, "org_connection_id": org_id, "source": source, "object": "Contact",
        "operation": mapping.get("operation", "insert"), "api": "rest", "mapping": mapping})
    assert job.status_code == 201, job.get_data(as_text=True)
    run = client.post(f"/api/jobs/{job.get_json()['id']}/runs", headers=headers).get_json()
    execute.run_import(run["id"])
    return client.get(f"/api/runs/{run['id']}", headers=headers).get_json()


def test_a_fixed_error_file_imported_again_writes_exactly_the_original_values(client, session, sf):  # noqa: F811
    source = _upload(client, session, CSV, "contacts.csv")["source"]
    mapping = {"object": "Contact", "fields": FIELDS, "lookups": LOOKUPS}
    first = _run(client, session, source, "Spring contacts", mapping)
    assert (first["state"], first["succeeded"], first["failed"], first["created"]) == ("partial", 1, 2, 1)

    csv_file = client.get(f"/api/runs/{first['id']}/files/error", headers=session)
    name = csv_file.headers["Content-Disposition"]
    assert name.startswith('attachment; filename="Spring contacts - Contact - errors - ') and name.endswith('.csv"')
    text = csv_file.get_data().decode("utf-8-sig")
    assert f"'{PHONE}" in text and "'=1+2" in text  # guarded against formulas in a spreadsheet
    xlsx_file = client.get(f"/api/runs/{first['id']}/files/error?format=xlsx", headers=session)
    assert xlsx_file.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert xlsx_file.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_file.get_data())).active
    assert [c.value for c in sheet[3]][2:] == ["Alan", "Turing", PHONE, "Nowhere Inc"]  # no apostrophe

    # The everyday Data Loader workflow: fix the error file and import it again (CSV, then the Excel copy).
    sf.Account.create({"Name": "Nowhere Inc"})
    fixed_csv = _upload(client, session, text.encode("utf-8-sig"), "errors.csv")
    assert fixed_csv["rows"][1][2:] == ["Alan", "Turing", PHONE, "Nowhere Inc"]  # the preview shows originals
    again = _run(client, session, fixed_csv["source"], "Fixed from CSV", mapping)
    assert (again["state"], again["succeeded"]) == ("succeeded", 2)
    fixed_xlsx = _upload(client, session, xlsx_file.get_data(), "errors.xlsx")
    assert _run(client, session, fixed_xlsx["source"], "Fixed from Excel", mapping)["succeeded"] == 2
    phones = sorted(r["Phone"] for r in sf.query_all("SELECT Phone FROM Contact")["records"])
    assert phones == sorted(["=1+2", "=1+2", PHONE, PHONE, PHONE])


def test_an_upsert_says_created_and_updated_and_a_run_where_every_row_failed_is_failed(client, session, sf):  # noqa: F811
    sf.Contact.create({"LastName": "Lovelace", "Email": "ada@example.com"})
    data = b"Last Name,Email\nLovelace,ada@example.com\nHopper,grace@example.com\nTuring,alan@example.com\n"
    source = _upload(client, session, data, "people.csv")["source"]
    upsert = {"object": "Contact", "operation": "upsert", "match_key": "Email",
              "fields": [{"field": "LastName", "column": "Last Name"}, {"field": "Email", "column": "Email"}]}
    done = _run(client, session, source, "People", upsert)
    assert (done["state"], done["created"], done["updated"]) == ("succeeded", 2, 1)

    nobody = {"object": "Contact", "fields": [{"field": "Email", "column": "Email"}]}  # no LastName: all fail
    failed = _run(client, session, source, "No last names", nobody)
    assert (failed["state"], failed["state_label"], failed["failed"]) == ("failed", "Failed", 3)
    assert "Every row failed" in failed["error"]


def test_running_an_insert_again_says_what_the_last_run_did_and_can_skip_existing_records(client, session):  # noqa: F811
    data = b"Last Name,Email\nLovelace,ada@example.com\nHopper,grace@example.com\n"
    source = _upload(client, session, data, "people.csv")["source"]
    mapping = {"object": "Contact", "fields": [{"field": "LastName", "column": "Last Name"},
                                                {"field": "Email", "column": "Email"}]}
    first = _run(client, session, source, "People", mapping)
    page = client.get(f"/ui/jobs/{first['job_id']}", headers=session).get_data(as_text=True)
    assert "The last run inserted 2 Contacts on " in page and 'data-ask="yes"' in page
    assert '<option value="Email" selected>' in page

    again = client.post(f"/api/jobs/{first['job_id']}/runs", headers=session, json={"skip_existing": "Email"})
    assert again.status_code == 201
    execute.run_import(again.get_json()["id"])
    done = client.get(f"/api/runs/{again.get_json()['id']}", headers=session).get_json()
    assert (done["state"], done["created"], done["skipped"], done["failed"]) == ("succeeded", 0, 2, 0)
    bad = client.post(f"/api/jobs/{first['job_id']}/runs", headers=session, json={"skip_existing": "1; DROP"})
    assert bad.status_code == 400
