"""The export engine against localorg: REST or Bulk 2.0 query, paging, compounds, time zones, Excel output."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook

from backend.errors import ConfigError
from backend.pipeline.export import DownloadTarget, check_query, run_export, since
from backend.pipeline.export.soql import soql_for_object
from sfdx.localorg.fieldkit import number, text
from sfdx.localorg.schema import Field
from tests.pipeline.sf_helpers import client  # noqa: F401


class Captured(io.BytesIO):
    def close(self) -> None:  # keep the bytes readable after the writer is done
        pass


def export(client, soql: str, fmt: str = "csv", **kw):  # noqa: F811
    out = Captured()
    query = check_query(soql, client.describe, include_deleted=kw.pop("include_deleted", False))
    result = run_export(client, query, DownloadTarget(fmt, lambda: out), **kw)
    return result, out.getvalue()


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def seed(org, n: int) -> None:
    with org.store.transaction():
        for i in range(n):
            org.store.insert("Contact", {"LastName": f"L{i:05d}", "Email": f"p{i}@example.com",
                                         "Title": "=1+1" if i % 2 else "Boss"})


def test_small_results_use_rest_and_large_ones_bulk2_with_locator_pages(client, org):  # noqa: F811
    seed(org, 2_100)
    result, data = export(client, "SELECT LastName, Email, Title FROM Contact WHERE LastName < 'L00100'")
    assert result.api == "rest" and result.rows == 100
    got = rows(data)
    assert [r["Title"] for r in got[:2]] == ["Boss", "'=1+1"]
    result, data = export(client, "SELECT LastName, Title FROM Contact ORDER BY LastName", page_records=700)
    got = rows(data)
    assert result.api == "bulk2" and result.rows == 2_100 and len(got) == 2_100
    assert got[0] == {"LastName": "L00000", "Title": "Boss"} and got[-1]["LastName"] == "L02099"
    assert got[1]["Title"] == "'=1+1"
    result, data = export(client, "SELECT LastName FROM Contact ORDER BY LastName", api="rest")
    assert result.api == "rest" and len(rows(data)) == 2_100  # nextRecordsUrl pages of 2,000


def test_bulk2_and_rest_write_the_same_file(client, org, sf):  # noqa: F811
    acct = sf.Account.create({"Name": "Globex, Inc."})["id"]
    sf.Contact.create({"LastName": "Lee", "AccountId": acct, "Description": "line 1\nline \"2\"",
                       "Birthdate": "1990-02-03"})
    sf.Contact.create({"LastName": "Kim"})
    soql = ("SELECT LastName, Account.Name, Description, Birthdate, CreatedDate, Owner.Email "
            "FROM Contact ORDER BY LastName")
    rest, by_rest = export(client, soql, api="rest")
    bulk, by_bulk = export(client, soql, api="bulk2")
    assert (rest.api, bulk.api) == ("rest", "bulk2") and by_rest == by_bulk
    got = rows(by_rest)
    assert got[1]["Account.Name"] == "Globex, Inc." and got[1]["Description"] == "line 1\nline \"2\""
    assert got[1]["Birthdate"] == "1990-02-03" and got[0]["Account.Name"] == ""
    assert len(got[0]["CreatedDate"]) == 24 and got[0]["CreatedDate"].endswith("Z")
    # Without cells to change, Bulk pages go into the file as they came: still the same file.
    soql = "SELECT LastName, Account.Name, Description, Birthdate FROM Contact ORDER BY LastName"
    (_, by_rest), (_, by_bulk) = export(client, soql, api="rest"), export(client, soql, api="bulk2")
    assert by_rest == by_bulk and b'"Kim","","",""\n' in by_bulk


def test_datetimes_in_the_jobs_time_zone(client, org, sf):  # noqa: F811
    rid = sf.Contact.create({"LastName": "Lee"})["id"]
    org.store.table("Contact").rows[rid]["CreatedDate"] = "2026-07-01T22:30:00.000+0000"
    _, data = export(client, "SELECT CreatedDate FROM Contact", time_zone="Europe/Berlin", api="bulk2")
    assert rows(data) == [{"CreatedDate": "2026-07-02T00:30:00.000+02:00"}]
    _, data = export(client, "SELECT CreatedDate FROM Contact", time_zone="UTC")
    assert rows(data) == [{"CreatedDate": "2026-07-01T22:30:00.000Z"}]
    with pytest.raises(ConfigError, match="Unknown time zone"):
        export(client, "SELECT CreatedDate FROM Contact", time_zone="Mars/Olympus")


def test_compound_fields_become_their_parts(client, org):  # noqa: F811
    org.define_object("Site__c", fields=[
        Field("Spot__c", "location", "Spot", createable=False, updateable=False, custom=True),
        number("Spot__Latitude__s", "Spot (Latitude)", scale=6, compound_field_name="Spot__c"),
        number("Spot__Longitude__s", "Spot (Longitude)", scale=6, compound_field_name="Spot__c"),
        text("Code__c", 10, custom=True)])
    org.store.insert("Site__c", {"Name": "HQ", "Spot__Latitude__s": 52.5, "Spot__Longitude__s": -13.4,
                                 "Code__c": "-x"})
    query = check_query("SELECT Name, Spot__c FROM Site__c", client.describe)
    assert query.soql == "SELECT Name, Spot__Latitude__s, Spot__Longitude__s FROM Site__c"
    _, data = export(client, "SELECT Name, Spot__c, Code__c FROM Site__c", api="bulk2")
    # numbers are never formulas, so -13.4 stays a number; the text "-x" is escaped as in result files
    assert rows(data) == [{"Name": "HQ", "Spot__Latitude__s": "52.5", "Spot__Longitude__s": "-13.4",
                           "Code__c": "'-x"}]


def test_xlsx_streams_a_workbook_excel_and_openpyxl_read(client, org, sf):  # noqa: F811
    sf.Contact.create({"LastName": "O'Neil <&>", "Title": "@SUM(A1)", "Description": "bell\x07"})
    org.define_object("Score__c", fields=[number("Points__c", "Points", scale=0, custom=True)])
    org.store.insert("Score__c", {"Name": "S", "Points__c": 42})
    _, data = export(client, "SELECT LastName, Title, Description FROM Contact", "xlsx")
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["LastName", "Title", "Description"], ["O'Neil <&>", "'@SUM(A1)", "bell"]]
    _, data = export(client, "SELECT Name, Points__c FROM Score__c", "xlsx")
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [["Name", "Points__c"], ["S", 42]]


def test_query_checks_point_at_the_bad_name(client):  # noqa: F811
    with pytest.raises(ConfigError) as err:
        check_query("SELECT Id,\n  Owner.Emale FROM Contact", client.describe)
    assert err.value.message.startswith("\n  Owner.Emale FROM Contact\n  ^\nERROR at Row:2:Column:3\n")
    with pytest.raises(ConfigError, match="sObject type 'Contactz' is not supported"):
        check_query("SELECT Id FROM Contactz", client.describe)
    with pytest.raises(ConfigError, match="unexpected token"):
        check_query("SELEC Id FROM Contact", client.describe)


def test_since_adds_the_watermark_and_deleted_rows(client):  # noqa: F811
    from datetime import UTC, datetime

    query = check_query(soql_for_object("Contact", ["Id"], "Email != null"), client.describe)
    later = since(query, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert later.soql == ("SELECT Id, IsDeleted FROM Contact WHERE SystemModstamp > 2026-01-02T03:04:05Z "
                          "AND (Email != null)")
    assert later.include_deleted and [c.name for c in later.columns] == ["Id", "IsDeleted"]
    ordered = since(check_query("SELECT Id FROM Contact ORDER BY Id LIMIT 5", client.describe), None)
    assert ordered.soql == "SELECT Id, IsDeleted FROM Contact ORDER BY Id LIMIT 5"
