"""`flask --app backend inflow export`: records out of localorg into CSV and Excel files."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from openpyxl import load_workbook

from backend.runs.parts import BOM
from tests.runs.factories import account, connect


def _export(app, org, *args: str):
    return app.test_cli_runner().invoke(args=["inflow", "export", *args, "--instance-url", org.instance_url,
                                              "--access-token", org.ready_token])


def _rows(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(BOM)
    return list(csv.DictReader(io.StringIO(data[len(BOM):].decode())))


def _seed(sf) -> str:
    acct = sf.Account.create({"Name": "Globex"})["id"]
    sf.Contact.create({"LastName": "Lee", "FirstName": "Ann", "Email": "ann@example.com", "AccountId": acct,
                       "Title": "=HYPERLINK(\"http://x\")"})
    sf.Contact.create({"LastName": "Kim", "Email": "kim@example.com", "Title": "-minus", "Description": "a,\"b\"\nc"})
    return acct


def test_object_with_parent_fields_and_a_filter_to_csv(app, org, sf, tmp_path):
    _seed(sf)
    out = tmp_path / "contacts.csv"
    result = _export(app, org, "--object", "Contact", "--fields", "LastName,Email,Account.Name,Title,Description,"
                     "Owner.Email,CreatedDate", "--where", "Email LIKE '%example.com'", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "rest: 2 record(s) of Contact exported" in result.output
    rows = sorted(_rows(out), key=lambda r: r["LastName"])
    assert list(rows[0]) == ["LastName", "Email", "Account.Name", "Title", "Description", "Owner.Email",
                             "CreatedDate"]
    assert rows[1]["Account.Name"] == "Globex" and rows[0]["Account.Name"] == ""
    assert rows[1]["Title"] == "'=HYPERLINK(\"http://x\")" and rows[0]["Title"] == "'-minus"
    assert rows[0]["Description"] == "a,\"b\"\nc"
    assert rows[0]["Owner.Email"] and rows[0]["CreatedDate"].endswith("Z") and "T" in rows[0]["CreatedDate"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_soql_to_xlsx(app, org, sf, tmp_path):
    _seed(sf)
    out = tmp_path / "contacts.xlsx"
    result = _export(app, org, "--soql", "SELECT Email, Title FROM Contact WHERE LastName = 'Lee'", "--out",
                     str(out))
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out, read_only=True).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["Email", "Title"], ["ann@example.com", "'=HYPERLINK(\"http://x\")"]]


def test_bad_soql_exits_1_with_salesforce_error_text_and_writes_nothing(app, org, tmp_path):
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "x.csv"
    result = _export(app, org, "--soql", "SELECT Id, Emial FROM Contact", "--out", str(out))
    assert result.exit_code == 1
    assert "ERROR at Row:1:Column:12" in result.output
    assert "No such column 'Emial' on entity 'Contact'" in result.output
    result = _export(app, org, "--soql", "SELECT Id FROM Contact WHERE Foo = 1", "--out", str(out))
    assert result.exit_code == 1 and "No such column 'Foo' on entity 'Contact'" in result.output
    result = _export(app, org, "--soql", "SELECT Acount.Name FROM Contact", "--out", str(out))
    assert result.exit_code == 1 and "Didn't understand relationship 'Acount'" in result.output
    assert not list((tmp_path / "out").iterdir())


def test_options_are_checked_and_connections_answer_cleanly(app, org, tmp_path):
    out = str(tmp_path / "x.csv")
    assert _export(app, org, "--object", "Contact", "--soql", "SELECT Id FROM Contact", "--out", out).exit_code == 2
    assert _export(app, org, "--object", "Contact").exit_code == 2
    assert _export(app, org, "--object", "Contact", "--out", str(tmp_path / "x.json")).exit_code == 2
    assert _export(app, org, "--object", "Contact", "--connection", "warehouse").exit_code == 2
    result = _export(app, org, "--object", "Contact", "--connection", "warehouse", "--table", "contacts")
    assert result.exit_code == 2 and "No connection(s) named 'warehouse'" in result.output


def test_since_last_exports_changes_and_deletions_and_advances_only_on_success(app, org, sf, tmp_path):
    acct = account()
    conn = connect(acct, org)
    first = sf.Contact.create({"LastName": "One"})["id"]
    second = sf.Contact.create({"LastName": "Two"})["id"]
    runner = app.test_cli_runner()

    def since_last(name: str, *extra: str):
        out = tmp_path / f"{name}.csv"
        result = runner.invoke(args=["inflow", "export", "--object", "Contact", "--fields", "Id,LastName",
                                     "--out", str(out), "--since-last", "nightly", "--instance", conn.name,
                                     *extra])
        return result, (_rows(out) if out.exists() else None)

    result, rows = since_last("a")
    assert result.exit_code == 0, result.output
    assert sorted(r["LastName"] for r in rows) == ["One", "Two"] and {r["IsDeleted"] for r in rows} == {"false"}
    # SOQL datetimes are whole seconds: a change in the second a run starts comes again next time
    sf.Contact.update(first, {"LastName": "Uno"})
    sf.Contact.delete(second)
    result, rows = since_last("b", "--where", "Bogus__c = 1")  # a failed run leaves the watermark alone
    assert result.exit_code == 1 and rows is None
    time.sleep(1.1)
    result, rows = since_last("c")
    assert result.exit_code == 0, result.output
    assert sorted((r["LastName"], r["IsDeleted"]) for r in rows) == [("Two", "true"), ("Uno", "false")]
    result, rows = since_last("d")
    assert result.exit_code == 0 and rows == [], result.output


def test_exported_csv_imports_back_into_another_org(app, org, make_org, sf, sf_session, tmp_path):
    from simple_salesforce import Salesforce

    for i in range(30):
        sf.Contact.create({"FirstName": f"Ann{i}", "LastName": f"Lee{i}", "Email": f"ann{i}@example.com",
                           "Title": "+ VP" if i == 3 else "Rep", "Birthdate": f"1990-01-{i % 28 + 1:02d}"})
    out = tmp_path / "contacts.csv"
    fields = "FirstName,LastName,Email,Title,Birthdate"
    assert _export(app, org, "--object", "Contact", "--fields", fields, "--out", str(out)).exit_code == 0
    other = make_org()
    result = app.test_cli_runner().invoke(args=["inflow", "import", "--file", str(out), "--object", "Contact",
                                                "--instance-url", other.instance_url, "--access-token",
                                                other.ready_token])
    assert result.exit_code == 0, result.output
    assert "30 read, 30 succeeded, 0 failed" in result.output
    copy = Salesforce(instance_url=other.instance_url, session_id=other.ready_token, session=sf_session)
    soql = f"SELECT {fields} FROM Contact ORDER BY Email"

    def strip(records):
        return [{k: v for k, v in r.items() if k != "attributes"} for r in records]

    got, want = strip(copy.query_all(soql)["records"]), strip(sf.query_all(soql)["records"])
    assert got[0] == want[0] and len(got) == 30
    # The one escaped cell comes back with its guard quote, as a result file's would.
    assert [r["Title"] for r in got if r["Title"] != "Rep"] == ["'+ VP"]
