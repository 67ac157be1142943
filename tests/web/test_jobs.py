"""The wizard's JSON API against localorg: upload, inspect, objects, automap, preview, validate, save jobs."""

from __future__ import annotations

import io

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from sfdx.localorg.pytest_plugin import localorg, make_org, org, sf, sf_session  # noqa: F401
from tests.web.canvas_support import bearer, canvas_config, install, launch

CSV = (b"First Name,Last Name,Email,Account Name\n"
       b"Ada,Lovelace,ada@example.com,Analytical Engines\n"
       b"Grace,Hopper,grace@example.com,Nowhere Inc\n"
       b"Alan,Turing,alan@example.com,Analytical Engines\n")


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


@pytest.fixture
def session(client, org, sf):  # noqa: F811
    install(org)
    sf.Account.create({"Name": "Analytical Engines"})
    token = launch(client, org)
    return bearer(token)


def _upload(client, headers, data=CSV, name="contacts.csv"):
    # Encoded here in memory: the test client would spool a body over 500 KiB to a file it never closes.
    boundary, body = encode_multipart(MultiDict({"file": FileStorage(io.BytesIO(data), name)}))
    resp = client.post("/api/sources/upload", headers=headers, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()


def _org_id(client, headers):
    html = client.get("/ui/wizard", headers=headers).get_data(as_text=True)
    return html.split('<option value="', 1)[1].split('"', 1)[0]


def _mapping(**over):
    mapping = {"object": "Contact", "operation": "insert",
               "fields": [{"field": "FirstName", "column": "First Name"}, {"field": "LastName", "column": "Last Name"},
                          {"field": "Email", "column": "Email"}, {"field": "AccountId", "column": "Account Name"}],
               "lookups": [{"field": "AccountId", "parent_object": "Account", "match_field": "Name"}]}
    mapping.update(over)
    return mapping


def test_upload_answers_columns_and_first_rows_and_needs_a_token(client, session):
    assert client.post("/api/sources/upload", data={"file": (io.BytesIO(CSV), "a.csv")},
                       content_type="multipart/form-data").status_code == 401
    body = _upload(client, session)
    assert body["columns"] == ["First Name", "Last Name", "Email", "Account Name"]
    assert body["rows"][0] == ["Ada", "Lovelace", "ada@example.com", "Analytical Engines"]
    assert body["source"]["type"] == "csv" and body["source"]["name"] == "contacts.csv"


def test_objects_describe_and_automap_come_from_the_org(client, session):
    org_id = _org_id(client, session)
    objects = client.get(f"/api/orgs/{org_id}/objects", headers=session).get_json()
    assert {"name": "Contact", "label": "Contact", "custom": False} in objects
    fields = client.get(f"/api/orgs/{org_id}/objects/Contact", headers=session).get_json()["fields"]
    assert next(f for f in fields if f["name"] == "LastName")["required"] is True
    source = _upload(client, session)["source"]
    body = client.post("/api/mapping/automap", headers=session, json={
        "org_connection_id": org_id, "source": source, "object": "Contact", "operation": "insert"}).get_json()
    pairs = {s["column"]: s["field"] for s in body["suggestions"]}
    assert pairs["Last Name"] == "LastName" and pairs["Email"] == "Email"
    assert all(0 < s["score"] <= 1 for s in body["suggestions"])


def test_preview_maps_the_first_rows_and_validate_finds_the_unknown_account(client, session):
    org_id = _org_id(client, session)
    source = _upload(client, session)["source"]
    preview = client.post("/api/mapping/preview", headers=session, json={
        "org_connection_id": org_id, "source": source,
        "mapping": _mapping(fields=_mapping()["fields"] + [{"field": "Title", "formula": 'UPPER("x")'}])}).get_json()
    assert preview["report"]["errors"] == []
    assert preview["rows"][0]["LastName"] == "Lovelace" and preview["rows"][0]["Title"] == "X"
    result = client.post("/api/mapping/validate", headers=session, json={
        "org_connection_id": org_id, "source": source, "mapping": _mapping()}).get_json()
    assert result["rows"] == 3 and result["valid"] == 2 and result["error_count"] == 1
    assert result["errors"][0]["row"] == 3 and "Nowhere Inc" in result["errors"][0]["message"]


def test_a_bad_mapping_is_reported_not_raised(client, session):
    org_id = _org_id(client, session)
    source = _upload(client, session)["source"]
    resp = client.post("/api/mapping/preview", headers=session, json={
        "org_connection_id": org_id, "source": source,
        "mapping": _mapping(fields=[{"field": "NoSuchField__c", "column": "Email"}])})
    assert resp.status_code == 200
    assert resp.get_json()["report"]["errors"]


def test_jobs_are_saved_listed_updated_and_private_to_the_account(client, session, make_org):  # noqa: F811
    org_id = _org_id(client, session)
    source = _upload(client, session)["source"]
    body = {"name": "Contacts", "org_connection_id": org_id, "source": source, "object": "Contact",
            "operation": "insert", "api": "rest", "mapping": _mapping()}
    created = client.post("/api/jobs", headers=session, json=body)
    assert created.status_code == 201, created.get_data(as_text=True)
    job = created.get_json()
    assert job["api"] == "rest" and job["mapping"]["lookups"][0]["match_field"] == "Name"
    assert [j["id"] for j in client.get("/api/jobs", headers=session).get_json()] == [job["id"]]
    updated = client.put(f"/api/jobs/{job['id']}", headers=session, json={**body, "name": "Contacts v2"})
    assert updated.get_json()["name"] == "Contacts v2"
    assert client.post("/api/jobs", headers=session, json={**body, "name": ""}).get_json()["message"] == \
        "Give the job a name."
    other = make_org()
    install(other)
    stranger = bearer(launch(client, other))
    assert client.get(f"/api/jobs/{job['id']}", headers=stranger).status_code == 404
    assert client.post("/api/jobs", headers=stranger, json={**body, "org_connection_id": org_id}).status_code == 404


def test_an_excel_upload_is_read_as_a_workbook(client, session):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["First Name", "Last Name"])
    sheet.append(["Ada", "Lovelace"])
    data = io.BytesIO()
    book.save(data)
    body = _upload(client, session, data.getvalue(), "people.xlsx")
    assert body["source"]["type"] == "xlsx"
    assert body["columns"] == ["First Name", "Last Name"] and body["rows"] == [["Ada", "Lovelace"]]


def test_an_unreadable_file_is_kept_but_explained(client, session):
    body = _upload(client, session, b"\x00\x01\x02 not a table", "junk.xlsx")
    assert body["error"] and "columns" not in body


def test_a_file_of_several_megabytes_is_streamed_and_checked_whole(client, session):
    org_id = _org_id(client, session)
    lines = [b"First Name,Last Name,Email,Account Name"]
    lines += [b"Ann%d,Lee%d,ann%d@example.com,Analytical Engines" % (i, i, i) for i in range(60_000)]
    body = _upload(client, session, b"\n".join(lines) + b"\n", "big.csv")
    assert body["size"] > 2_500_000 and body["rows"][4] == ["Ann4", "Lee4", "ann4@example.com", "Analytical Engines"]
    result = client.post("/api/mapping/validate", headers=session, json={
        "org_connection_id": org_id, "source": body["source"], "mapping": _mapping()}).get_json()
    assert (result["rows"], result["valid"], result["error_count"]) == (60_000, 60_000, 0)


def _automap(client, headers, org_id, source):
    return client.post("/api/mapping/automap", headers=headers, json={
        "org_connection_id": org_id, "source": source, "object": "Contact", "operation": "insert"}).get_json()


def test_the_date_format_comes_from_the_values_then_the_last_job_then_the_users_locale(client, session):
    from backend.extensions import db
    from backend.models import User

    org_id = _org_id(client, session)
    day_first = _upload(client, session, b"Last Name,Birthdate\nLee,16/03/1955\nRay,01/02/1960\n", "born.csv")
    body = _automap(client, session, org_id, day_first["source"])
    assert (body["date_format"], body["date_format_reason"]) == ("eu_slash", "Detected from the values of 'Birthdate'.")

    undecided = _upload(client, session, b"Last Name,Birthdate\nLee,01/02/1960\n", "undecided.csv")["source"]
    assert _automap(client, session, org_id, undecided)["date_format"] == "us"  # the launch said en_US
    db.session.execute(db.update(User).values(locale="en_GB"))
    db.session.commit()
    body = _automap(client, session, org_id, undecided)
    assert body["date_format"] == "eu_slash"
    assert body["date_format_reason"] == "Usual for your Salesforce locale (en_GB)."

    mapping = _mapping(fields=[{"field": "LastName", "column": "Last Name"},
                               {"field": "Birthdate", "column": "Birthdate"}], lookups=[],
                       options={"date_formats": ["eu"]})
    job = client.post("/api/jobs", headers=session, json={"name": "Born", "org_connection_id": org_id,
                                                           "source": undecided, "mapping": mapping})
    assert job.status_code == 201
    body = _automap(client, session, org_id, undecided)  # the account remembers what its last job chose
    assert (body["date_format"], body["date_format_reason"]) == ("eu", "As in your last saved job.")


def test_the_review_blocks_a_date_format_that_reads_none_of_the_dates(client, session):
    org_id = _org_id(client, session)
    source = _upload(client, session, b"Last Name,Birthdate\nLee,16/03/1955\nRay,01/02/1960\n", "born.csv")["source"]
    fields = [{"field": "LastName", "column": "Last Name"}, {"field": "Birthdate", "column": "Birthdate"}]
    iso = client.post("/api/mapping/validate", headers=session, json={
        "org_connection_id": org_id, "source": source, "mapping": _mapping(fields=fields, lookups=[])}).get_json()
    assert [e["code"] for e in iso["report"]["errors"]] == ["date_format"]
    assert "(31/01/2026 style), not in 2026-01-31 style" in iso["report"]["errors"][0]["message"]
    fine = client.post("/api/mapping/validate", headers=session, json={
        "org_connection_id": org_id, "source": source,
        "mapping": _mapping(fields=fields, lookups=[], options={"date_formats": ["eu_slash"]})}).get_json()
    assert (fine["report"]["errors"], fine["valid"]) == ([], 2)


def test_the_source_step_counts_rows_says_what_was_detected_and_rereads_with_chosen_settings(client, session):
    data = "Export für Q1\nName;Stadt\nJürgen;Köln\nAnn;Bonn\n".encode("cp1252")
    body = _upload(client, session, data, "export.csv")
    assert body["detected"] == {"encoding": "Windows-1252", "delimiter": "comma"}  # the title line is one field
    assert body["row_count"] == 3 and "source settings" in body["warnings"][0]
    source = {**body["source"], "config": {"header_row": 2, "encoding": "cp1252"}}
    again = client.post("/api/sources/inspect", headers=session, json={"source": source, "count": True}).get_json()
    assert (again["columns"], again["rows"], again["row_count"]) == (["Name", "Stadt"], [["Jürgen", "Köln"],
                                                                                         ["Ann", "Bonn"]], 2)
    assert again["detected"] == {"encoding": "Windows-1252", "delimiter": "semicolon"}
